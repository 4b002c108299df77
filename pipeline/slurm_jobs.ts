/**
 * The Slurm job scripts of a sharded run (pure: strings in, strings out; cli/slurm.ts writes and
 * submits them). Waves are job arrays chained `afterany`, so a failed or cancelled task never
 * leaves the rest pending (`afterok` did: DependencyNeverSatisfied, forever); instead each wave
 * and the final job first run `wave-check` and end at once, naming the missing units and tasks.
 * Tasks are `--requeue`able (node failure, preemption) and get SIGTERM `--signal=B:TERM@120`
 * before their time limit: the batch shell `exec`s deno, so the signal reaches the run, which
 * finishes or abandons the unit in flight and releases its lock (pipeline/shutdown.ts).
 */
import {
  type ClusterJob,
  envLines,
  providerArgs,
  sh,
  type Wave,
  waveCheckCommand,
} from "./cluster.ts";

export interface SlurmOptions extends ClusterJob {
  /** Absolute project root: the jobs' working directory. */
  workdir: string;
  /** Where Slurm writes the jobs' logs (absolute). */
  logDir: string;
  /** jobs.json of the latest submission (absolute): wave-check names the job ids it holds. */
  jobIds: string;
  partition?: string;
  gpusPerTask?: number;
  cpusPerTask: number;
  /** Memory per task, Slurm syntax (`16G`). */
  mem: string;
  /** Slurm time limit, e.g. "24:00:00". */
  time?: string;
  /** Seconds before the time limit at which Slurm sends SIGTERM. */
  signalSeconds: number;
}

export const slurmDefaults = { cpusPerTask: 4, mem: "16G", signalSeconds: 120 };

/** The lines that find deno on a node: $DENO, else deno on PATH, else npx's (pinned) binary. */
const findDeno = [
  "DENO=${DENO:-$(command -v deno || true)}",
  "# npx does not pass SIGTERM on to deno: ask it where its deno binary is and run that.",
  `if [ -z "$DENO" ]; then DENO=$(npx -y deno@2.9.6 eval 'console.log(Deno.execPath())'); fi`,
];

function header(o: SlurmOptions, name: string, output: string): string[] {
  return [
    "#!/usr/bin/env bash",
    `#SBATCH --job-name=${sh(name)}`,
    `#SBATCH --chdir=${sh(o.workdir)}`,
    `#SBATCH --output=${sh(`${o.logDir}/${output}`)}`,
    `#SBATCH --cpus-per-task=${o.cpusPerTask}`,
    `#SBATCH --mem=${sh(o.mem)}`,
    "#SBATCH --requeue",
    `#SBATCH --signal=B:TERM@${o.signalSeconds}`,
    ...(o.partition ? [`#SBATCH --partition=${sh(o.partition)}`] : []),
    // Slurm 23.11 refuses --gpus-per-task without --ntasks (or --gpus).
    ...(o.gpusPerTask ? ["#SBATCH --ntasks=1", `#SBATCH --gpus-per-task=${o.gpusPerTask}`] : []),
    ...(o.time ? [`#SBATCH --time=${sh(o.time)}`] : []),
  ];
}

/** The job names, which `--resume` looks for in the queue. */
export function slurmJobNames(runId: string): { shard: string; final: string } {
  return { shard: `xcompare-${runId}-shard`, final: `xcompare-${runId}-final` };
}

/** sbatch arguments of a wave's array job: every task, or only `tasks` (a resume). */
export function waveArgs(w: Wave, tasks?: readonly number[]): string[] {
  const array = tasks ? tasks.join(",") : `0-${w.tasks - 1}`;
  return [`--array=${array}`, "shard.sbatch", String(w.index), String(w.tasks), ...w.stages];
}

/** One sbatch call of a submission: what jobs.json calls it, and its arguments. */
export interface SubmitStep {
  label: string;
  args: string[];
}

/** The submission: the waves (or, resuming, only some tasks of some), then the final job. */
export function submitSteps(
  waves: readonly Wave[],
  only?: ReadonlyMap<number, readonly number[]>,
): SubmitStep[] {
  const steps = waves
    .filter((w) => !only || only.has(w.index))
    .map((w) => ({ label: `wave${w.index}`, args: waveArgs(w, only?.get(w.index)) }));
  return [...steps, { label: "final", args: ["final.sbatch"] }];
}

/** sbatch's arguments for a step, `afterany` the previous step's job. */
export function sbatchArgs(step: SubmitStep, after: string | null): string[] {
  return ["--parsable", ...(after ? [`--dependency=afterany:${after}`] : []), ...step.args];
}

/** A script that submits `steps` in order, each after the previous, and writes jobs.json. */
export function submitScript(
  o: Pick<SlurmOptions, "runId" | "logDir" | "jobIds">,
  steps: readonly SubmitStep[],
  why: string,
): string {
  return [
    "#!/usr/bin/env bash",
    `# ${why}`,
    "set -euo pipefail",
    'cd "$(dirname "$0")"',
    `mkdir -p ${sh(o.logDir)}`,
    'dep=""',
    "ids=()",
    'id() { cut -d";" -f1; }',
    ...steps.flatMap((s) => [
      `j=$(sbatch --parsable \${dep:+--dependency=afterany:$dep} ${s.args.map(sh).join(" ")} | id)`,
      `echo "${s.label}: job $j"`,
      "dep=$j",
      `ids+=("\\"${s.label}\\": \\"$j\\"")`,
    ]),
    `printf '{"runId": "%s", "jobs": {%s}}\\n' ${sh(o.runId)} "$(IFS=,; echo "\${ids[*]}")" \\`,
    `  >${sh(o.jobIds)}`,
    "",
  ].join("\n");
}

/**
 * shard.sbatch (one array task = one shard of one wave), final.sbatch (the plain reproduce) and
 * submit.sh (the waves and the final job, each `afterany` the previous).
 */
export function slurmScripts(o: SlurmOptions): Record<string, string> {
  const cfg = sh(o.config);
  const check = (wave: string) =>
    `"$DENO" ${waveCheckCommand(o, wave, ["--job-ids", sh(o.jobIds)])}`;
  const shard = [
    ...header(o, `xcompare-${o.runId}-shard`, "%x-%A_%a.out"),
    "# One shard of one wave: sbatch --array=<tasks> shard.sbatch <wave> <tasks> <stage>...",
    "set -euo pipefail",
    "wave=$1 tasks=$2",
    "shift 2",
    "only=()",
    'for s in "$@"; do only+=(--only "$s"); done',
    ...findDeno,
    ...envLines(o),
    `echo "xcompare ${o.runId}: wave $wave shard $SLURM_ARRAY_TASK_ID/$tasks ($*) on $(hostname)"`,
    "# The earlier waves' units must all be in the store; else exit naming what is missing.",
    check('"$wave"'),
    "# exec: Slurm's SIGTERM (--signal=B:TERM, preemption) goes to the batch shell, now deno.",
    `exec "$DENO" task xcompare reproduce --config ${cfg} --shard "$SLURM_ARRAY_TASK_ID/$tasks" \\`,
    `  "\${only[@]}" --run-id ${sh(o.runId)}-w"$wave"${
      providerArgs(o).length ? " " + providerArgs(o).join(" ") : ""
    }`,
    "",
  ].join("\n");
  const final = [
    // No GPU and no required provider: once the check below passes, what is left (kpca, the
    // report) evaluates no model, so the final job runs on a CPU node.
    ...header({ ...o, gpusPerTask: 0 }, `xcompare-${o.runId}-final`, "%x-%j.out"),
    "# The final job: a plain reproduce that reuses every shard's units, computes what is left",
    "# (the single-unit stages, on the CPU) and renders the report. It runs after the last wave",
    "# however that ended, so it first checks that every wave's units are in the store.",
    "set -euo pipefail",
    ...findDeno,
    ...envLines(o),
    check("final"),
    `exec "$DENO" task xcompare reproduce --config ${cfg} --run-id ${sh(o.runId)}`,
    "",
  ].join("\n");
  const submit = submitScript(
    o,
    submitSteps(o.waves),
    `Submits run ${o.runId}: ${o.waves.length} wave(s) of array jobs, then the final job.`,
  );
  return { "shard.sbatch": shard, "final.sbatch": final, "submit.sh": submit };
}
