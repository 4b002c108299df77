/**
 * run.json, what reproduce writes beside a run's lockfile: the config and its overrides, the
 * runtime, per-stage wall times, and the key of the rendered report. The key is the report unit's
 * output hash with the code that renders it (cli/app.ts's closure, which reaches report/), so a
 * rerun whose lockfile and key match the folder's says "up to date" and writes nothing.
 *
 * It also says what a cluster run's final job reads from its shards' records: the runtime
 * identities they keyed their units with, so that a
 * final job on another kind of node (a CPU node after GPU shards) reuses their units instead of
 * recomputing them (pipeline/runner.ts `reuseRuntimes`, METHODS §8).
 *
 * Which shards belong to run R: the cluster scripts run the final job as `reproduce --run-id R`
 * and each shard as `reproduce --shard i/n --run-id R-<wave>` (pipeline/cluster.ts), and a shard's
 * folder is `<its run id>-shard-i-of-n`. So R's shards are the folders named
 * `R-<anything>-shard-i-of-n` or `R-shard-i-of-n`.
 */
import { join } from "node:path";
import { codeClosure, hashJson } from "../lib/hash.ts";
import { providers, type RuntimeIdentity } from "../lib/runtime_identity.ts";
import { LOCK_NAME, type LockFile } from "../pipeline/lockfile.ts";
import type { RunResult, StageSummary } from "../pipeline/runner.ts";

export const RUN_RECORD = "run.json";

export interface RenderKey {
  key: string;
  /** Output hash of the report unit: everything the report shows but this run's own provenance. */
  reportOutput: string;
  /** Hash of the rendering code. */
  renderer: string;
}

export interface RunRecord {
  runId: string;
  config: string;
  configHash?: string;
  /** What the store's checks found and cost (pipeline/checked_read.ts, --verify). */
  integrity?: unknown;
  /** `--set` overrides, as `stage.param=<JSON>`. */
  overrides?: string[];
  created?: string;
  runtime?: RuntimeIdentity;
  shard?: { index: number; count: number };
  summaries: StageSummary[];
  /** Present once the report is rendered into the folder. */
  render?: RenderKey;
}

/** The run.json in `dir`, or null when there is none or it cannot be parsed. */
export async function readRunRecord(dir: string): Promise<RunRecord | null> {
  try {
    return JSON.parse(await Deno.readTextFile(join(dir, RUN_RECORD)));
  } catch {
    return null;
  }
}

/** The key of the report this run renders; null when the report unit has no output. */
export async function renderKeyOf(result: RunResult, runId: string): Promise<RenderKey | null> {
  const report = result.records.find((r) => r.stage === "report" && r.outputHash);
  if (!report?.outputHash) return null;
  const renderer = (await codeClosure(new URL("./app.ts", import.meta.url).href)).hash;
  return {
    key: hashJson({ reportOutput: report.outputHash, renderer, runId }),
    reportOutput: report.outputHash,
    renderer,
  };
}

/**
 * Whether `dir` already holds this run rendered with this key: the same units (lockfile), the same
 * render key (run.json), and the report files in place.
 */
export async function isUpToDate(dir: string, lock: LockFile, render: RenderKey): Promise<boolean> {
  const record = await readRunRecord(dir);
  if (record?.render?.key !== render.key) return false;
  let previous: LockFile;
  try {
    previous = JSON.parse(await Deno.readTextFile(join(dir, LOCK_NAME)));
  } catch {
    return false;
  }
  if (hashJson(previous.stages) !== hashJson(lock.stages)) return false;
  for (const f of ["report.md", "report.html", "results.json"]) {
    try {
      await Deno.stat(join(dir, f));
    } catch {
      return false;
    }
  }
  return true;
}

export function runRecord(
  runId: string,
  config: string,
  result: RunResult,
  shard?: { index: number; count: number },
): RunRecord {
  return { runId, config, runtime: result.runtime, shard, summaries: result.summaries };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function isIdentity(v: unknown): v is RuntimeIdentity {
  const r = v as RuntimeIdentity | null;
  return typeof r?.ortVersion === "string" && providers.includes(r?.provider);
}

/**
 * The runtime identities R's shards recorded, most shards first, each once. A record that cannot
 * be read is skipped with a line naming it (its units are then recomputed, never misread).
 */
export async function shardRuntimes(
  reports: string,
  runId: string,
  log: (line: string) => void = (l) => console.error(l),
): Promise<RuntimeIdentity[]> {
  const name = new RegExp(`^${escape(runId)}(-.+)?-shard-\\d+-of-\\d+$`);
  let dirs: string[];
  try {
    dirs = (await Array.fromAsync(Deno.readDir(reports)))
      .filter((e) => e.isDirectory && name.test(e.name)).map((e) => e.name).sort();
  } catch {
    return [];
  }
  const seen = new Map<string, { identity: RuntimeIdentity; shards: number }>();
  for (const d of dirs) {
    const file = join(reports, d, "run.json");
    let rec: Partial<RunRecord>;
    try {
      rec = JSON.parse(await Deno.readTextFile(file));
    } catch (e) {
      log(`${file}: shard record unreadable (${(e as Error).name}); its runtime is not reused`);
      continue;
    }
    if (rec.runtime === undefined) continue; // the shard keyed no runtime-dependent unit
    if (!rec.shard || !isIdentity(rec.runtime)) {
      log(`${file}: not a shard's record with a runtime identity; ignored`);
      continue;
    }
    const id: RuntimeIdentity = {
      ortVersion: rec.runtime.ortVersion,
      provider: rec.runtime.provider,
    };
    const k = JSON.stringify(id);
    const s = seen.get(k) ?? { identity: id, shards: 0 };
    s.shards++;
    seen.set(k, s);
  }
  return [...seen.values()].sort((a, b) => b.shards - a.shards).map((s) => s.identity);
}
