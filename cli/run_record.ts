/**
 * run.json, what reproduce writes beside a run's lockfile: the config and its overrides, the
 * runtime, per-stage wall times, and the key of the rendered report with the hash of every file
 * the render wrote. The key is the report unit's output hash with the code that renders it
 * (cli/app.ts's closure, which reaches report/), so a rerun whose lockfile and key match the
 * folder's, and whose report files still hash as they were written, says "up to date" and writes
 * nothing. A folder whose files changed since (a truncated results.json, a deleted figure, an
 * edited report.md) is damaged: the rerun renders it again and says why.
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
import { codeClosure, hashJson, sha256File } from "../lib/hash.ts";
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

/** A rendered report: its key and the sha256 of each file the render wrote. */
export interface RenderedReport extends RenderKey {
  /** sha256 by path relative to the run's folder (`report.md`, `figures/x.svg`). */
  files: Record<string, string>;
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
  render?: RenderedReport;
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

/** The sha256 of each of `files` (paths relative to `dir`), as RenderedReport records them. */
export async function hashFiles(dir: string, files: readonly string[]) {
  const out: Record<string, string> = {};
  for (const f of [...files].sort()) out[f] = await sha256File(join(dir, f));
  return out;
}

/**
 * The first of `files` (sha256 by path relative to `dir`) that is missing or no longer hashes as
 * recorded, with what is wrong with it; null when every one matches.
 */
export async function changedFile(
  dir: string,
  files: Record<string, string>,
): Promise<string | null> {
  for (const [f, hash] of Object.entries(files)) {
    let now: string;
    try {
      now = await sha256File(join(dir, f));
    } catch (e) {
      return `${f} ${e instanceof Deno.errors.NotFound ? "is missing" : `cannot be read (${e})`}`;
    }
    if (now !== hash) return `${f} changed since it was rendered`;
  }
  return null;
}

/** Files every render writes, whatever run.json's list says. */
export const RENDERED_ALWAYS = ["report.md", "report.html", "results.json"] as const;

/**
 * What `dir` holds of this run: `up to date` with the same units (lockfile), the same render key
 * (run.json) and every rendered file as it was written; `damaged` when units and key match but a
 * rendered file is missing or changed (`why` names it); else `stale` (absent, another run, or
 * another renderer).
 */
export async function folderState(
  dir: string,
  lock: LockFile,
  render: RenderKey,
): Promise<{ state: "up to date" | "stale" } | { state: "damaged"; why: string }> {
  const record = await readRunRecord(dir);
  let previous: LockFile;
  try {
    previous = JSON.parse(await Deno.readTextFile(join(dir, LOCK_NAME)));
  } catch {
    return { state: "stale" };
  }
  if (hashJson(previous.stages) !== hashJson(lock.stages)) return { state: "stale" };
  // This run's folder, but its record gone or unreadable: say so rather than re-render silently.
  if (record === null) {
    const present = await Deno.stat(join(dir, RUN_RECORD)).then(() => true, () => false);
    return { state: "damaged", why: `${RUN_RECORD} ${present ? "cannot be read" : "is missing"}` };
  }
  if (record.render?.key !== render.key) return { state: "stale" };
  const files = record.render.files;
  if (typeof files !== "object" || files === null || Object.keys(files).length === 0) {
    return { state: "damaged", why: `${RUN_RECORD} records no hashes of the report's files` };
  }
  // The list itself is in run.json, which can be edited too: every render writes these.
  const unlisted = RENDERED_ALWAYS.find((f) => !(f in files));
  if (unlisted) return { state: "damaged", why: `${RUN_RECORD} records no hash of ${unlisted}` };
  const why = await changedFile(dir, files);
  return why ? { state: "damaged", why } : { state: "up to date" };
}

/** Whether `dir` already holds this run rendered with this key, every file as written. */
export async function isUpToDate(dir: string, lock: LockFile, render: RenderKey): Promise<boolean> {
  return (await folderState(dir, lock, render)).state === "up to date";
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
