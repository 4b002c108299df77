/**
 * Seeded percentile bootstrap over images, so that every Table 1 number and every verdict carries
 * a 95% interval (METHODS.md §6) and the same inputs and seed give the same interval byte for byte.
 * The project's one statistics module: Table 1 (explain/mse_run.ts) and the mini-replication
 * verdicts (report/verdicts.ts) both draw through it, from the one generator in lib/rng.ts.
 * The verdicts' statistics (METHODS §7) compare groups of models that saw the same images, so
 * they resample images jointly: one draw of image indices serves every model.
 *
 * Quantiles are mathjs `quantileSeq`; means stay hand-written (issue 21: mathjs unless it costs
 * more than 2x the bootstrap's time). bench/stats.ts runs the same bootstrap, same draws, both
 * ways (2000 resamples; means over 10-500 values, ratios of 9 over 5 models): the intervals are
 * bit-identical either way and repeat bit for bit. `quantileSeq` runs twice per bootstrap and
 * took 0.93-1.6x the hand-written bootstrap's time over two runs. mathjs `mean` runs once per
 * model per resample on a gathered copy of the resample without nulls (it takes no index vector
 * and no nulls) and dispatches `add` per value: 1.5-2.2x at 10 values, 2.3-5.5x at 50-500, 3.3-3.6x
 * and 6.7-7.2x for paired ratios over 10 and 500 images (1.4-1.9x only where unpaired resampling
 * dominates), so `mean` is kept.
 */
import { quantileSeq } from "mathjs";
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

/**
 * Mean of the non-null values, or of the values at `idx` (one resample) when given; NaN when there
 * are none. Nulls are images without a value (an image without MSEs has no MSE size).
 */
export function mean(values: ArrayLike<number | null>, idx?: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  const len = idx ? idx.length : values.length;
  for (let k = 0; k < len; k++) {
    const v = values[idx ? idx[k] : k];
    if (v !== null) {
      s += v;
      n++;
    }
  }
  return n ? s / n : NaN;
}

/**
 * Quantile `q` in [0, 1] of ascending values by mathjs `quantileSeq`: linear interpolation between
 * order statistics (numpy's default, type 7). NaN when there are none (mathjs throws).
 */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  // mathjs reads a q above 1 as a count of quantiles and returns an array.
  if (!(q >= 0 && q <= 1)) throw new RangeError(`stats: quantile q must be in [0, 1], got ${q}`);
  if (!sorted.length) return NaN;
  // mathjs takes an index within its epsilon of a whole number as whole and reads the array at the
  // unrounded index: undefined (0.025 of 201 resamples is index 5.000000000000004). At such an index
  // the interpolation weight is below 1e-9, so the order statistic itself is the quantile.
  const index = q * (sorted.length - 1);
  const whole = Math.round(index);
  if (index !== whole && Math.abs(index - whole) <= 1e-9 * Math.max(1, whole)) return sorted[whole];
  return quantileSeq(Array.from(sorted), q, true) as number;
}

/** One bootstrap resample of `n` images: `n` indices drawn uniformly with replacement. */
function resample(rng: Rng, n: number): Uint32Array {
  const idx = new Uint32Array(n);
  for (let k = 0; k < n; k++) idx[k] = rng.int(n);
  return idx;
}

/** The percentile interval of resampled statistics (sorted in place). */
function percentiles(stats: Float64Array, level: number): { lo: number; hi: number } {
  stats.sort();
  const a = (1 - level) / 2;
  return { lo: quantile(stats, a), hi: quantile(stats, 1 - a) };
}

function checkOptions(o: BootstrapOptions): void {
  if (!Number.isInteger(o.samples) || o.samples < 1) {
    throw new RangeError(`stats: samples must be a positive integer, got ${o.samples}`);
  }
  if (!(o.level > 0 && o.level < 1)) {
    throw new RangeError(`stats: level must be in (0, 1), got ${o.level}`);
  }
}

function checkFinite(values: ArrayLike<number>, name: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new RangeError(`stats: ${name}[${i}] is ${values[i]}; drop undefined values first`);
    }
  }
}

/** Mean with a seeded percentile bootstrap interval. NaNs for no values. */
export function bootstrapMeanCI(
  values: ArrayLike<number>,
  options: Partial<BootstrapOptions> = {},
): Interval {
  const o = { ...defaults, ...options };
  checkFinite(values, "values");
  checkOptions(o);
  if (values.length === 0) return { mean: NaN, lo: NaN, hi: NaN };
  const rng = new Rng(o.seed);
  const stats = new Float64Array(o.samples);
  for (let b = 0; b < o.samples; b++) stats[b] = mean(values, resample(rng, values.length));
  return { mean: mean(values), ...percentiles(stats, o.level) };
}

/**
 * Values of one series (a model, or a pair of models) on a shared list of images: entry i belongs
 * to image i of that list, null where the series has no value for it (an image where the
 * baseline alone sufficed, an image without MSEs has no MSE size).
 */
export type Series = readonly (number | null)[];

/** A statistic with its percentile interval from a joint bootstrap over images. */
export interface JointEstimate {
  estimate: number;
  lo: number;
  hi: number;
  /** Images resampled (the length of every series). */
  images: number;
  /** Resamples where the statistic was defined; the interval is over these. */
  samples: number;
}

/**
 * `statistic` of the series' means, with a percentile interval from resampling images jointly:
 * each resample draws one vector of image indices and every series is averaged over it (nulls
 * skipped), because every series saw the same images and their errors are correlated through
 * them. A resample where the statistic is undefined (NaN, e.g. a series with no value among the
 * drawn images) is left out; `samples` says how many remain.
 */
export function jointBootstrap(
  series: readonly Series[],
  statistic: (means: Float64Array) => number,
  options: Partial<BootstrapOptions> = {},
): JointEstimate {
  const o = { ...defaults, ...options };
  checkOptions(o);
  if (series.length === 0) throw new RangeError("jointBootstrap: no series");
  const n = series[0].length;
  series.forEach((s, k) => {
    if (s.length !== n) {
      throw new RangeError(`jointBootstrap: series ${k} has ${s.length} images, series 0 has ${n}`);
    }
    for (let i = 0; i < n; i++) {
      const v = s[i];
      if (v !== null && !Number.isFinite(v)) {
        throw new RangeError(`jointBootstrap: series ${k} image ${i} is ${v}; use null for none`);
      }
    }
  });
  const means = new Float64Array(series.length);
  const evaluate = (idx?: Uint32Array) => {
    for (let k = 0; k < series.length; k++) means[k] = mean(series[k], idx);
    return statistic(means);
  };
  const estimate = n ? evaluate() : NaN;
  const rng = new Rng(o.seed);
  const stats: number[] = [];
  for (let b = 0; b < o.samples && n > 0; b++) {
    const r = evaluate(resample(rng, n));
    if (!Number.isNaN(r)) stats.push(r);
  }
  return {
    estimate,
    ...percentiles(Float64Array.from(stats), o.level),
    images: n,
    samples: stats.length,
  };
}

const average = (xs: Float64Array, from: number, to: number) => {
  let s = 0;
  for (let k = from; k < to; k++) s += xs[k];
  return s / (to - from);
};

function groups(num: readonly Series[], den: readonly Series[], name: string): void {
  if (num.length === 0 || den.length === 0) throw new RangeError(`${name}: empty group`);
}

/**
 * The ratio of geometric means of two groups of series: `exp(L_num - L_den)`, where a group's L
 * is the mean over its series of each series' mean of `log(1 + x)` over its images. The `1 +`
 * keeps zeros defined; on logs one image with 777,478 tree nodes weighs as a factor, not as a sum
 * that drowns the other nine. Values must be > -1 (counts and sizes are >= 0).
 */
export function geometricMeanRatio(
  num: readonly Series[],
  den: readonly Series[],
  options: Partial<BootstrapOptions> = {},
): JointEstimate {
  groups(num, den, "geometricMeanRatio");
  const logs = [...num, ...den].map((s, k) =>
    s.map((v, i) => {
      if (v === null) return null;
      if (!(v > -1)) {
        throw new RangeError(`geometricMeanRatio: series ${k} image ${i} is ${v}, not > -1`);
      }
      return Math.log1p(v);
    })
  );
  const split = num.length, all = logs.length;
  return jointBootstrap(
    logs,
    (m) => Math.exp(average(m, 0, split) - average(m, split, all)),
    options,
  );
}

/**
 * The ratio of arithmetic means of two groups (a group's mean: the mean over its series of each
 * series' mean over its images), resampled jointly: the paper's statistic, kept as a secondary
 * figure beside the geometric one.
 */
export function meanRatio(
  num: readonly Series[],
  den: readonly Series[],
  options: Partial<BootstrapOptions> = {},
): JointEstimate {
  groups(num, den, "meanRatio");
  const split = num.length, all = num.length + den.length;
  return jointBootstrap(
    [...num, ...den],
    (m) => average(m, 0, split) / average(m, split, all),
    options,
  );
}

/**
 * Per-series values keyed by image id, put on one list of images (the union of the ids, in order
 * of first appearance) with null where a series lacks an image, ready for `jointBootstrap`.
 */
export function alignImages(
  rows: readonly { ids: readonly string[]; values: Series }[],
): { ids: string[]; series: (number | null)[][] } {
  const ids: string[] = [];
  const index = new Map<string, number>();
  rows.forEach((r, k) => {
    if (r.ids.length !== r.values.length) {
      throw new RangeError(
        `alignImages: row ${k} has ${r.ids.length} ids and ${r.values.length} values`,
      );
    }
    if (new Set(r.ids).size !== r.ids.length) {
      throw new RangeError(`alignImages: row ${k} names an image twice`);
    }
    for (const id of r.ids) {
      if (!index.has(id)) {
        index.set(id, ids.length);
        ids.push(id);
      }
    }
  });
  const series = rows.map((r) => {
    const out = new Array<number | null>(ids.length).fill(null);
    r.ids.forEach((id, j) => (out[index.get(id)!] = r.values[j]));
    return out;
  });
  return { ids, series };
}

/** A randomisation test's result. */
export interface FlipTest {
  /** The statistic on the data as observed. */
  statistic: number;
  /** `(1 + #{null statistics >= observed}) / (1 + samples)`. */
  p: number;
  /** The null distribution's quantile at the options' level (e.g. its 95th percentile). */
  nullQuantile: number;
  samples: number;
}

/**
 * A one-sided randomisation test over images. Under the null hypothesis each image's data are
 * exchangeable with a swapped version of themselves (for a cross-testing matrix: with its
 * transpose), so each null sample swaps every image independently with probability 1/2
 * (`flip[i] = 1`) and recomputes the statistic; `statistic(null)` is the observed value.
 */
export function flipTest(
  images: number,
  statistic: (flip: Uint8Array | null) => number,
  options: Partial<BootstrapOptions> = {},
): FlipTest {
  const o = { ...defaults, ...options };
  checkOptions(o);
  const observed = statistic(null);
  const rng = new Rng(o.seed);
  const nulls = new Float64Array(o.samples);
  const flip = new Uint8Array(images);
  let above = 0;
  for (let b = 0; b < o.samples; b++) {
    for (let i = 0; i < images; i++) flip[i] = rng.next() < 0.5 ? 1 : 0;
    nulls[b] = statistic(flip);
    if (nulls[b] >= observed) above++;
  }
  nulls.sort();
  return {
    statistic: observed,
    p: (1 + above) / (1 + o.samples),
    nullQuantile: quantile(nulls, o.level),
    samples: o.samples,
  };
}
