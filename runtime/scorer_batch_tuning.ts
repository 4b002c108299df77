/**
 * The Scorer's batch size when a config says "auto": the best masks-per-second depends on the
 * model, the provider and the machine, so each candidate is timed on the session itself.
 */
import type { UpsampleMode } from "../explain/upsample.ts";
import { timingFeeds, upsampleFeeds } from "./scorer_feeds.ts";
import type { RunSession } from "./session.ts";

export interface TuningOptions {
  /** Batch sizes to try. */
  candidates: number[];
  /** Total seconds the search may spend. */
  seconds: number;
  /** Mask side timed (unless the session is the full-resolution wrapper). */
  maskSide: number;
  mode: UpsampleMode;
}

/**
 * Times each candidate batch size on synthetic masks; the smallest within 10% of the best wins
 * (smaller batches fill sooner when few callers are waiting, and timings on a busy machine are
 * only good to about that much).
 */
export async function tuneBatchSize(
  session: RunSession,
  shape: readonly [number, number, number],
  diffs: readonly Float32Array[],
  baselines: readonly Float32Array[],
  opts: TuningOptions,
  fullResolution: boolean,
): Promise<number> {
  const side = fullResolution ? shape[1] : opts.maskSide;
  const cands = [...opts.candidates].sort((a, b) => a - b);
  const perCandidateMs = (opts.seconds * 1000) / cands.length;
  const rates: [number, number][] = [];
  for (const bs of cands) {
    const upsample = fullResolution ? undefined : upsampleFeeds(side, shape, opts.mode);
    const feeds = timingFeeds(bs, shape, diffs, baselines, side, upsample);
    await session.run(feeds, ["prob"]); // warm-up
    let runs = 0;
    const t0 = performance.now();
    do {
      await session.run(feeds, ["prob"]);
      runs++;
    } while (performance.now() - t0 < perCandidateMs || runs < 2);
    const ms = performance.now() - t0;
    rates.push([bs, (runs * bs) / ms]);
    if (ms / runs > perCandidateMs) break; // larger batches would blow the budget
  }
  const best = Math.max(...rates.map(([, r]) => r));
  return rates.find(([, r]) => r >= 0.9 * best)![0];
}
