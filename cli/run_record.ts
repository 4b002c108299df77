/**
 * run.json, what reproduce writes beside a run's lockfile: the config and its overrides, the
 * runtime, per-stage wall times, and the key of the rendered report. The key is the report unit's
 * output hash with the code that renders it (cli/app.ts's closure, which reaches report/), so a
 * rerun whose lockfile and key match the folder's says "up to date" and writes nothing.
 */
import { join } from "node:path";
import { codeClosure, hashJson } from "../lib/hash.ts";
import { LOCK_NAME, type LockFile } from "../pipeline/lockfile.ts";
import type { RunResult, StageSummary } from "../pipeline/runner.ts";
import type { RuntimeIdentity } from "../pipeline/stage.ts";

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
