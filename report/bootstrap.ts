/**
 * Seeded percentile bootstrap over images for a ratio of group means. Verdicts compare groups of
 * models on the same images, so resampling one shared image index vector keeps the pairing.
 */

export interface BootstrapOptions {
  /** Bootstrap resamples. */
  samples: number;
  /** Seed of the resampling RNG: the same input gives the same interval. */
  seed: number;
  /** Two-sided coverage of the percentile interval. */
  level: number;
}

export const defaults: BootstrapOptions = { samples: 2000, seed: 20240617, level: 0.95 };

/** A small, fast, seedable uniform RNG on [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Linear-interpolated quantile of an ascending array. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const i = Math.floor(pos);
  const f = pos - i;
  return i + 1 < sorted.length ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[i];
}

/** Mean of the non-null entries at the given indices (all entries when `idx` is undefined). */
export function meanAt(values: (number | null)[], idx?: Uint32Array): number {
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

/** The mean over models of each model's mean over images. */
export function groupMean(group: (number | null)[][], idx?: (Uint32Array | undefined)[]): number {
  let s = 0;
  for (let m = 0; m < group.length; m++) s += meanAt(group[m], idx?.[m]);
  return s / group.length;
}

export interface RatioEstimate {
  estimate: number;
  lo: number;
  hi: number;
  /** True when every model had the same images, so one index vector was resampled for all. */
  paired: boolean;
  samples: number;
}

/**
 * `groupMean(num) / groupMean(den)` with a percentile interval. Each inner array holds one model's
 * per-image values. Resampling is paired when all arrays have the same length and `paired` is not
 * false (the caller checks that image ids agree); otherwise each model resamples its own images.
 */
export function bootstrapRatio(
  num: (number | null)[][],
  den: (number | null)[][],
  opts: Partial<BootstrapOptions> & { paired?: boolean } = {},
): RatioEstimate {
  const o = { ...defaults, ...opts };
  if (num.length === 0 || den.length === 0) throw new Error("bootstrapRatio: empty group");
  const all = [...num, ...den];
  const n0 = all[0].length;
  const paired = opts.paired !== false && all.every((a) => a.length === n0);
  const estimate = groupMean(num) / groupMean(den);
  const rand = mulberry32(o.seed);
  const stats: number[] = [];
  for (let b = 0; b < o.samples; b++) {
    let idx: Uint32Array[];
    if (paired) {
      const shared = new Uint32Array(n0);
      for (let k = 0; k < n0; k++) shared[k] = Math.floor(rand() * n0);
      idx = all.map(() => shared);
    } else {
      idx = all.map((a) => {
        const v = new Uint32Array(a.length);
        for (let k = 0; k < a.length; k++) v[k] = Math.floor(rand() * a.length);
        return v;
      });
    }
    const r = groupMean(num, idx.slice(0, num.length)) / groupMean(den, idx.slice(num.length));
    if (!Number.isNaN(r)) stats.push(r);
  }
  stats.sort((a, b) => a - b);
  const alpha = (1 - o.level) / 2;
  return {
    estimate,
    lo: quantile(stats, alpha),
    hi: quantile(stats, 1 - alpha),
    paired,
    samples: stats.length,
  };
}
