/**
 * Cluster job writers for sharded runs (pure: strings in, strings out; the verbs write and
 * submit them).
 *
 * Why waves: a `--shard i/n` run computes only its own units of every stage, so a unit whose
 * inputs belong to other shards is blocked until they exist. Shards started together would each
 * finish their slice of the first stage and then find nearly everything downstream blocked,
 * leaving the work to the final job. So the shards run wave by wave: wave k holds the stages at
 * depth k of the DAG (`--only` those stages; their upstream is complete by then), each wave an
 * array of shards, the next wave after the whole previous one. Trailing waves of single-unit
 * stages (kpca, report) are left to the final plain `reproduce`, which reuses everything and
 * completes the DAG.
 */
import { stageDepths, type StageNode } from "./dag.ts";

export interface Wave {
  /** 1-based wave number. */
  index: number;
  stages: string[];
  /** Array tasks: min(shards, most units of a stage in the wave); each runs `--shard i/tasks`. */
  tasks: number;
}

/**
 * Waves of a DAG for `shards` shards. `units` (stage → planned units) trims trailing single-unit
 * waves and sizes each array; without it every wave gets `shards` tasks.
 */
export function planWaves(
  stages: readonly StageNode[],
  shards: number,
  units?: Record<string, number> | null,
): Wave[] {
  if (!Number.isInteger(shards) || shards < 1) {
    throw new Error(`shards: expected a positive integer, got ${shards}`);
  }
  const depth = stageDepths(stages);
  const levels: string[][] = [];
  for (const s of stages) (levels[depth.get(s.name)!] ??= []).push(s.name);
  const waves = levels.map((names, i) => {
    const most = units ? Math.max(...names.map((n) => units[n] ?? 0)) : shards;
    return { index: i + 1, stages: names, tasks: Math.max(1, Math.min(shards, most)) };
  });
  if (units) {
    while (waves.length && waves.at(-1)!.stages.every((n) => (units[n] ?? 0) <= 1)) waves.pop();
  }
  return waves;
}

export interface ClusterJob {
  /** Config path, relative to the project root. */
  config: string;
  runId: string;
  waves: Wave[];
  /** Store and reports folders when not the defaults (`artifacts`, `reports`). */
  artifacts?: string;
  reports?: string;
}

export interface SlurmOptions extends ClusterJob {
  /** Absolute project root: the jobs' working directory. */
  workdir: string;
  /** Where Slurm writes the jobs' logs (absolute). */
  logDir: string;
  partition?: string;
  gpusPerTask?: number;
  cpusPerTask: number;
  /** Slurm time limit, e.g. "24:00:00". */
  time?: string;
}

export const slurmDefaults = { cpusPerTask: 4 };

/** Shell-quotes one word. */
export function sh(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The lines that find deno on a node: $DENO, else deno on PATH, else npx (pinned version). */
const findDeno = [
  "DENO=${DENO:-$(command -v deno || true)}",
  'if [ -z "$DENO" ]; then DENO="npx -y deno@2.9.6"; fi',
];

function envLines(o: ClusterJob): string[] {
  const out: string[] = [];
  if (o.artifacts) out.push(`export XCOMPARE_ARTIFACTS=\${XCOMPARE_ARTIFACTS:-${sh(o.artifacts)}}`);
  if (o.reports) out.push(`export XCOMPARE_REPORTS=\${XCOMPARE_REPORTS:-${sh(o.reports)}}`);
  return out;
}

function slurmHeader(o: SlurmOptions, name: string): string[] {
  return [
    "#!/usr/bin/env bash",
    `#SBATCH --job-name=${sh(name)}`,
    `#SBATCH --chdir=${sh(o.workdir)}`,
    `#SBATCH --output=${sh(`${o.logDir}/%x-%A_%a.out`)}`,
    `#SBATCH --cpus-per-task=${o.cpusPerTask}`,
    ...(o.partition ? [`#SBATCH --partition=${sh(o.partition)}`] : []),
    ...(o.gpusPerTask ? [`#SBATCH --gpus-per-task=${o.gpusPerTask}`] : []),
    ...(o.time ? [`#SBATCH --time=${sh(o.time)}`] : []),
  ];
}

/** sbatch arguments of each wave's array job (the dependency is added at submission). */
export function waveArgs(w: Wave): string[] {
  return [
    `--array=0-${w.tasks - 1}`,
    "shard.sbatch",
    String(w.index),
    String(w.tasks),
    ...w.stages,
  ];
}

/**
 * shard.sbatch (one array task = one shard of one wave), final.sbatch (the plain reproduce) and
 * submit.sh (submits the waves and the final job, each `afterok` the previous).
 */
export function slurmScripts(o: SlurmOptions): Record<string, string> {
  const cfg = sh(o.config);
  const shard = [
    ...slurmHeader(o, `xcompare-${o.runId}-shard`),
    "# One shard of one wave: sbatch --array=0-<tasks-1> shard.sbatch <wave> <tasks> <stage>...",
    "set -euo pipefail",
    "wave=$1 tasks=$2",
    "shift 2",
    "only=()",
    'for s in "$@"; do only+=(--only "$s"); done',
    ...findDeno,
    ...envLines(o),
    `echo "xcompare ${o.runId}: wave $wave shard $SLURM_ARRAY_TASK_ID/$tasks ($*) on $(hostname)"`,
    `$DENO task xcompare reproduce --config ${cfg} --shard "$SLURM_ARRAY_TASK_ID/$tasks" \\`,
    `  "\${only[@]}" --run-id ${sh(o.runId)}-w"$wave"`,
    "",
  ].join("\n");
  const final = [
    ...slurmHeader(o, `xcompare-${o.runId}-final`).map((l) => l.replace("%x-%A_%a", "%x-%j")),
    "# The final job: a plain reproduce that reuses every shard's units, computes what is left",
    "# (the single-unit stages) and renders the report.",
    "set -euo pipefail",
    ...findDeno,
    ...envLines(o),
    `$DENO task xcompare reproduce --config ${cfg} --run-id ${sh(o.runId)}`,
    "",
  ].join("\n");
  const submit = [
    "#!/usr/bin/env bash",
    `# Submits run ${o.runId}: ${o.waves.length} wave(s) of array jobs, then the final job.`,
    "set -euo pipefail",
    'cd "$(dirname "$0")"',
    `mkdir -p ${sh(o.logDir)}`,
    'dep=""',
    'id() { cut -d";" -f1; }',
    ...o.waves.flatMap((w) => [
      `j=$(sbatch --parsable \${dep:+--dependency=afterok:$dep} ${
        waveArgs(w).map(sh).join(" ")
      } | id)`,
      `echo "wave ${w.index} (${w.stages.join(", ")}; ${w.tasks} shard(s)): job $j"`,
      "dep=$j",
    ]),
    "j=$(sbatch --parsable ${dep:+--dependency=afterok:$dep} final.sbatch | id)",
    'echo "final: job $j"',
    "",
  ].join("\n");
  return { "shard.sbatch": shard, "final.sbatch": final, "submit.sh": submit };
}

export interface K8sOptions extends ClusterJob {
  shards: number;
  image: string;
  /** PersistentVolumeClaim shared by all pods: the store and the reports. */
  pvc: string;
  /** Project root inside the image. */
  workdir: string;
  gpusPerTask: number;
  /** Seconds between barrier polls. */
  pollSeconds: number;
}

export const k8sDefaults = {
  pvc: "xcompare-store",
  workdir: "/app",
  gpusPerTask: 1,
  pollSeconds: 10,
};

/** Kubernetes object names: lower-case alphanumerics and '-', at most 63 characters. */
export function k8sName(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 50) ||
    "xcompare";
}

/** A YAML block scalar of `text`, indented by `indent` spaces. */
function block(text: string, indent: number): string {
  const pad = " ".repeat(indent);
  return text.split("\n").map((l) => (l ? pad + l : "")).join("\n");
}

/**
 * The shard pods' script: every pod runs every wave in turn (`--only` its stages, `--shard
 * i/tasks` when its index is below the wave's task count), then waits at a barrier in the shared
 * store until all pods finished the wave. A failing pod leaves a marker that stops the others.
 */
export function k8sShardScript(o: K8sOptions): string {
  const cfg = sh(o.config);
  return [
    "set -euo pipefail",
    `i=$JOB_COMPLETION_INDEX n=${o.shards} run=${sh(o.runId)}`,
    `b=\${XCOMPARE_ARTIFACTS:-artifacts}/.barrier/$run`,
    'mkdir -p "$b"',
    "wave() {",
    "  k=$1 m=$2",
    "  shift 2",
    '  if [ "$i" -lt "$m" ]; then',
    "    only=()",
    '    for s in "$@"; do only+=(--only "$s"); done',
    `    if ! deno task xcompare reproduce --config ${cfg} --shard "$i/$m" "\${only[@]}" \\`,
    '      --run-id "$run-w$k"; then',
    '      touch "$b/failed-w$k-$i"',
    "      exit 1",
    "    fi",
    "  fi",
    '  mkdir -p "$b/w$k" && touch "$b/w$k/$i"',
    '  until [ "$(ls "$b/w$k" | wc -l)" -ge "$n" ]; do',
    '    if ls "$b"/failed-* >/dev/null 2>&1; then echo "another shard failed" >&2; exit 1; fi',
    `    sleep ${o.pollSeconds}`,
    "  done",
    "}",
    ...o.waves.map((w) => `wave ${w.index} ${w.tasks} ${w.stages.map(sh).join(" ")}`),
  ].join("\n");
}

/** The final pod's script: wait for every shard's last wave (or a failure), then reproduce. */
export function k8sFinalScript(o: K8sOptions): string {
  const last = o.waves.at(-1)?.index;
  return [
    "set -euo pipefail",
    `n=${o.shards} run=${sh(o.runId)}`,
    `b=\${XCOMPARE_ARTIFACTS:-artifacts}/.barrier/$run`,
    ...(last === undefined ? [] : [
      `until [ -d "$b/w${last}" ] && [ "$(ls "$b/w${last}" | wc -l)" -ge "$n" ]; do`,
      '  if ls "$b"/failed-* >/dev/null 2>&1; then echo "a shard failed" >&2; exit 1; fi',
      `  sleep ${o.pollSeconds}`,
      "done",
    ]),
    `deno task xcompare reproduce --config ${sh(o.config)} --run-id ${sh(o.runId)}`,
  ].join("\n");
}

/** Indexed Job (the shards) and a final Job, as one multi-document YAML, written by hand. */
export function k8sManifest(o: K8sOptions): string {
  const name = k8sName(`xcompare-${o.runId}`);
  const env = [
    ...(o.artifacts ? [["XCOMPARE_ARTIFACTS", o.artifacts]] : []),
    ...(o.reports ? [["XCOMPARE_REPORTS", o.reports]] : []),
  ];
  const q = (s: string) => JSON.stringify(s);
  const pod = (script: string) =>
    [
      "      restartPolicy: Never",
      "      volumes:",
      "        - name: store",
      "          persistentVolumeClaim:",
      `            claimName: ${q(o.pvc)}`,
      "      containers:",
      "        - name: xcompare",
      `          image: ${q(o.image)}`,
      `          workingDir: ${q(o.workdir)}`,
      '          command: ["bash", "-c"]',
      "          args:",
      "            - |",
      block(script, 14),
      ...(env.length
        ? [
          "          env:",
          ...env.flatMap(([k, v]) => [`            - name: ${k}`, `              value: ${q(v)}`]),
        ]
        : []),
      "          resources:",
      "            limits:",
      `              nvidia.com/gpu: ${o.gpusPerTask}`,
      "          volumeMounts:",
      "            - name: store",
      `              mountPath: ${q(`${o.workdir}/artifacts`)}`,
      "              subPath: artifacts",
      "            - name: store",
      `              mountPath: ${q(`${o.workdir}/reports`)}`,
      "              subPath: reports",
    ].join("\n");
  return [
    `# xcompare run ${o.runId}: ${o.shards} shard pods (an Indexed Job) run ${o.waves.length} wave(s)`,
    "# with a barrier in the shared store between waves; the final Job waits for them, then runs",
    "# the plain reproduce (remaining stages and the report). kubectl apply -f <this file>",
    "apiVersion: batch/v1",
    "kind: Job",
    "metadata:",
    `  name: ${name}-shards`,
    "spec:",
    "  completionMode: Indexed",
    `  completions: ${o.shards}`,
    `  parallelism: ${o.shards}`,
    "  backoffLimit: 0",
    "  template:",
    "    spec:",
    pod(k8sShardScript(o)),
    "---",
    "apiVersion: batch/v1",
    "kind: Job",
    "metadata:",
    `  name: ${name}-final`,
    "spec:",
    "  completions: 1",
    "  backoffLimit: 0",
    "  template:",
    "    spec:",
    pod(k8sFinalScript(o)),
    "",
  ].join("\n");
}
