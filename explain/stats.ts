/**
 * Seeded percentile bootstrap over images, so that every table number carries a 95% interval
 * (METHODS.md §6) and the same inputs and seed give the same interval byte for byte.
 */
import { Rng } from "../lib/rng.ts";

export interface BootstrapOptions {
  /** Resamples. */
  samples: number;
  /** Two-sided coverage of the percentile interval. */
  level: number;
  seed: number;
}

export const defaults: BootstrapOptions = { samples: 2000, level: 0.95, seed: 0 };

/** A point estimate with its percentile interval. */
export interface Interval {
  mean: number;
  lo: number;
  hi: number;
}

/** Arithmetic mean; NaN for no values. */
export function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return values.length ? s / values.length : NaN;
}

/** Quantile of ascending values, linear interpolation between order statistics (numpy default). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const i = Math.floor(pos), f = pos - i;
  return i + 1 < sorted.length ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[i];
}

function check(values: ArrayLike<number>, name: string, o: BootstrapOptions): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new RangeError(`stats: ${name}[${i}] is ${values[i]}; drop undefined values first`);
    }
  }
  if (!Number.isInteger(o.samples) || o.samples < 1) {
    throw new RangeError(`stats: samples must be a positive integer, got ${o.samples}`);
  }
  if (!(o.level > 0 && o.level < 1)) {
    throw new RangeError(`stats: level must be in (0, 1), got ${o.level}`);
  }
}

function resampledMean(values: ArrayLike<number>, rng: Rng): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[rng.int(values.length)];
  return s / values.length;
}

function interval(point: number, stats: Float64Array, level: number): Interval {
  stats.sort();
  const a = (1 - level) / 2;
  return { mean: point, lo: quantile(stats, a), hi: quantile(stats, 1 - a) };
}

/** Mean with a seeded percentile bootstrap interval. NaNs for no values. */
export function bootstrapMeanCI(
  values: ArrayLike<number>,
  options: Partial<BootstrapOptions> = {},
): Interval {
  const o = { ...defaults, ...options };
  check(values, "values", o);
  if (values.length === 0) return { mean: NaN, lo: NaN, hi: NaN };
  const rng = new Rng(o.seed);
  const stats = new Float64Array(o.samples);
  for (let b = 0; b < o.samples; b++) stats[b] = resampledMean(values, rng);
  return interval(mean(values), stats, o.level);
}

/**
 * Ratio of means mean(a) / mean(b) with a percentile interval, resampling `a` and `b`
 * independently (two separate samples, for example two models on different images).
 */
export function bootstrapRatioCI(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: Partial<BootstrapOptions> = {},
): Interval {
  const o = { ...defaults, ...options };
  check(a, "a", o);
  check(b, "b", o);
  if (a.length === 0 || b.length === 0) return { mean: NaN, lo: NaN, hi: NaN };
  const rng = new Rng(o.seed);
  const stats = new Float64Array(o.samples);
  for (let k = 0; k < o.samples; k++) stats[k] = resampledMean(a, rng) / resampledMean(b, rng);
  return interval(mean(a) / mean(b), stats, o.level);
}
