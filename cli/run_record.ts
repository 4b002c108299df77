/**
 * A run's record in reports/<dir>/run.json, where its folder is, and what a cluster run's final job
 * reads from its shards' records: the runtime identities they keyed their units with, so that a
 * final job on another kind of node (a CPU node after GPU shards) reuses their units instead of
 * recomputing them (pipeline/runner.ts `reuseRuntimes`, METHODS §8).
 *
 * Which shards belong to run R: the cluster scripts run the final job as `reproduce --run-id R`
 * and each shard as `reproduce --shard i/n --run-id R-<wave>` (pipeline/cluster.ts), and a shard's
 * folder is `<its run id>-shard-i-of-n`. So R's shards are the folders named
 * `R-<anything>-shard-i-of-n` or `R-shard-i-of-n`.
 */
import { join } from "node:path";
import { providers, type RuntimeIdentity } from "../lib/runtime_identity.ts";
import type { RunResult, StageSummary } from "../pipeline/runner.ts";

/** What run.json holds. */
export interface RunRecord {
  runId: string;
  config: string;
  /** The runtime this process keyed its runtime-dependent units with (absent if it probed none). */
  runtime?: RuntimeIdentity;
  shard?: { index: number; count: number };
  summaries: StageSummary[];
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
