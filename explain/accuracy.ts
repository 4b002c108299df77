/**
 * Intervals on accuracy (METHODS §6): the percentile bootstrap over the labelled images of whether
 * each was right, one seeded stream per model and column, like every Table 1 interval.
 */
import { deriveSeed } from "../lib/rng.ts";
import { bootstrapMeanCI, type BootstrapOptions } from "./stats.ts";

/** One image's prediction as infer-baselines stores it. */
export interface LabelledPrediction {
  label: number | null;
  pred: number;
  /** The top-k classes with their probabilities, highest first. */
  top5: [number, number][];
}

export interface AccuracyIntervals {
  /** Fractions in [0, 1]; absent when no image has a label. */
  top1?: { lo: number; hi: number };
  top5?: { lo: number; hi: number };
}

/** Bootstrap intervals of top-1 and top-k accuracy; `name` (the model) seeds its streams. */
export function accuracyIntervals(
  items: readonly LabelledPrediction[],
  options: BootstrapOptions,
  name: string,
): AccuracyIntervals {
  const labelled = items.filter((it) => it.label !== null && it.label !== undefined);
  if (!labelled.length) return {};
  const ci = (hits: number[], column: string) => {
    const iv = bootstrapMeanCI(hits, { ...options, seed: deriveSeed(options.seed, name, column) });
    return { lo: iv.lo, hi: iv.hi };
  };
  return {
    top1: ci(labelled.map((it) => (it.pred === it.label ? 1 : 0)), "top1"),
    top5: ci(labelled.map((it) => (it.top5.some(([c]) => c === it.label) ? 1 : 0)), "top5"),
  };
}
