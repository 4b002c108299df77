/**
 * Sharded runs on a cluster: the waves, and what the Slurm (slurm_jobs.ts) and Kubernetes
 * (k8s_jobs.ts) writers share. Pure: strings in, strings out; the verbs write and submit.
 *
 * Why waves: a `--shard i/n` run computes only its own units of every stage, so a unit whose
 * inputs belong to other shards is blocked until they exist. Shards started together would each
 * finish their slice of the first stage and then find nearly everything downstream blocked,
 * leaving the work to the final job. So the shards run wave by wave: wave k holds the stages at
 * depth k of the DAG (`--only` those stages; their upstream is complete by then), each wave an
 * array of shards, the next wave after the whole previous one. Trailing waves of single-unit
 * stages (kpca, report) are left to the final plain `reproduce`, which reuses everything and
 * completes the DAG.
 *
 * Why a check before every wave: the next wave starts once the previous one ended, however it
 * ended (Slurm `afterany`; a Kubernetes driver that stops at a failed Job), so every wave and the
 * final job first run `xcompare wave-check`, which exits non-zero naming the missing units and
 * the tasks that should have made them (pipeline/wave_status.ts). A failed task thus ends the
 * run's remaining jobs quickly instead of leaving them pending forever, and `--resume` reruns
 * only those tasks.
 */
import { stageDepths, type StageNode } from "./dag.ts";
import { runIdProblem } from "../lib/run_id.ts";

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

/**
 * The waves as one word for a command line: `preprocess:3;infer-baselines:1;mse-search,igos-
 * heatmaps:3`, wave by wave in order. Job scripts carry it to `wave-check`, so a node checks
 * against the layout that was submitted, not one it planned itself.
 */
export function formatLayout(waves: readonly Wave[]): string {
  return waves.map((w) => `${w.stages.join(",")}:${w.tasks}`).join(";");
}

export function parseLayout(text: string): Wave[] {
  if (text === "") return [];
  return text.split(";").map((part, i) => {
    const m = /^([A-Za-z0-9_-]+(?:,[A-Za-z0-9_-]+)*):([1-9]\d*)$/.exec(part);
    if (!m) {
      throw new Error(
        `--waves: wave ${
          i + 1
        } "${part}": expected <stage>[,<stage>...]:<tasks>, waves joined by ";"`,
      );
    }
    return { index: i + 1, stages: m[1].split(","), tasks: Number(m[2]) };
  });
}

/** What every cluster job knows of its run. */
export interface ClusterJob {
  /** Config path, relative to the project root. */
  config: string;
  runId: string;
  waves: Wave[];
  /** Store and reports folders when not the defaults (`artifacts`, `reports`). */
  artifacts?: string;
  reports?: string;
  /**
   * `reproduce --require-provider <name>`: a node that cannot open this execution provider fails
   * instead of computing on another one under other cache keys. Unset: not passed.
   */
  requireProvider?: string;
}

/** The provider to require by default: CUDA where the jobs get GPUs, none otherwise. */
export function defaultRequiredProvider(gpus: number | undefined): string | undefined {
  return gpus && gpus > 0 ? "cuda" : undefined;
}

/** Run ids become job names, folder names and Kubernetes labels: one rule for every verb. */
export function checkRunId(runId: string): string {
  const why = runIdProblem(runId);
  if (why) throw new Error(`--run-id "${runId}": ${why}`);
  return runId;
}

/**
 * `wave-check`'s exit status when an earlier wave's unit is missing: rerunning the same task
 * cannot help, so Kubernetes fails the index at once and Slurm's later jobs end.
 */
export const UPSTREAM_MISSING = 3;

/** The run id of wave `k`'s shard runs. */
export function waveRunId(runId: string, wave: number): string {
  return `${runId}-w${wave}`;
}

/** The folder under reports/ of a run, or of one shard of it. */
export function shardRunName(runId: string, shard?: { index: number; count: number }): string {
  return shard ? `${runId}-shard-${shard.index}-of-${shard.count}` : runId;
}

/** Shell-quotes one word. */
export function sh(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `export` lines carrying the store and reports overrides to the nodes. */
export function envLines(o: ClusterJob): string[] {
  const out: string[] = [];
  if (o.artifacts) out.push(`export XCOMPARE_ARTIFACTS=\${XCOMPARE_ARTIFACTS:-${sh(o.artifacts)}}`);
  if (o.reports) out.push(`export XCOMPARE_REPORTS=\${XCOMPARE_REPORTS:-${sh(o.reports)}}`);
  return out;
}

/**
 * `xcompare wave-check` of wave `wave` (or the final job): exits 3 naming what is missing.
 * `wave` may be a shell expression such as `"$wave"`; it is not quoted here.
 */
export function waveCheckCommand(
  o: ClusterJob,
  wave: string,
  extra: string[] = [],
): string {
  return [
    "task xcompare wave-check --config",
    sh(o.config),
    "--run-id",
    sh(o.runId),
    "--waves",
    sh(formatLayout(o.waves)),
    "--wave",
    wave,
    ...extra,
  ].join(" ");
}

/** `--require-provider <name>` when the job asks for one. */
export function providerArgs(o: ClusterJob): string[] {
  return o.requireProvider ? ["--require-provider", sh(o.requireProvider)] : [];
}

/**
 * Slurm-style time (`MM`, `MM:SS`, `HH:MM:SS`, `D-HH[:MM[:SS]]`) in seconds, for Kubernetes'
 * activeDeadlineSeconds.
 */
export function timeSeconds(text: string): number {
  const m = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(text);
  if (!m) throw new Error(`--time "${text}": expected [D-]HH:MM:SS, MM:SS or minutes`);
  const [d, a, b, c] = [m[1], m[2], m[3], m[4]].map((x) => (x === undefined ? undefined : +x));
  let s: number;
  if (d !== undefined) s = d * 86400 + a! * 3600 + (b ?? 0) * 60 + (c ?? 0);
  else if (c !== undefined) s = a! * 3600 + b! * 60 + c;
  else if (b !== undefined) s = a! * 60 + b;
  else s = a! * 60;
  if (s < 1) throw new Error(`--time "${text}": must be at least one second`);
  return s;
}
