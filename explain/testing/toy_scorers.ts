/**
 * Toy classifiers whose minimal sufficient explanations and sub-explanation counts are known
 * exactly, so the search cores can be tested against hand computation and brute force. Each toy
 * decodes the 0/1 masks it receives back to subsets and counts what it was asked, so tests measure
 * model evaluations instead of assuming them.
 */
import type { Scorer, ScoreRequest } from "../scorer.ts";
import { fromIndices, fromMask, universe } from "../patchset.ts";

/** One image's toy model: the class probability of each revealed subset. */
export interface ToyModel {
  /** p_ĉ of the image with exactly `subset` revealed. */
  prob(subset: number): number;
}

/** Probability as a function of (subset, image, class). */
export type SubsetFn = (subset: number, image: number, cls: number) => number;

/**
 * Additive patches: p(S) = pFull * (base + Σ_{i∈S} w_i) / (base + Σ_i w_i), so p_full is
 * exactly `pFull` and r(S) = (base + w(S)) / (base + W). Weights must be non-negative.
 */
export function additive(weights: readonly number[], opts: { base?: number; pFull?: number } = {}) {
  const base = opts.base ?? 0;
  const pFull = opts.pFull ?? 0.8;
  if (weights.some((w) => !(w >= 0)) || !(base >= 0)) {
    throw new RangeError("toy_scorers.additive: weights and base must be non-negative");
  }
  const total = base + weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new RangeError("toy_scorers.additive: weights sum to zero");
  const ratio = (s: number) => {
    let w = base;
    for (let i = 0; i < weights.length; i++) if (hasBit(s, i)) w += weights[i];
    return w / total;
  };
  return { pFull, ratio, prob: (s: number) => pFull * ratio(s) };
}

/**
 * AND of parts: probability `high` only when every patch of every part is revealed, else `low`.
 * A part is a group of patch indices.
 */
export function andParts(
  parts: readonly (readonly number[])[],
  opts: { high?: number; low?: number } = {},
): ToyModel & { pFull: number } {
  const high = opts.high ?? 0.9, low = opts.low ?? 0.05;
  const need = fromIndices(parts.flat());
  return { pFull: high, prob: (s) => (contains(s, need) ? high : low) };
}

/** OR of two part-sets: `high` when all of `a` or all of `b` is revealed, else `low`. */
export function orParts(
  a: readonly (readonly number[])[],
  b: readonly (readonly number[])[],
  opts: { high?: number; low?: number } = {},
): ToyModel & { pFull: number } {
  const high = opts.high ?? 0.9, low = opts.low ?? 0.05;
  const na = fromIndices(a.flat()), nb = fromIndices(b.flat());
  return { pFull: high, prob: (s) => (contains(s, na) || contains(s, nb) ? high : low) };
}

/** Whether subset `s` contains subset `t`. */
export function contains(s: number, t: number): boolean {
  const sl = s >>> 0, tl = t >>> 0;
  const sh = (s - sl) / 4294967296, th = (t - tl) / 4294967296;
  return ((sl & tl) >>> 0) === tl && ((sh & th) >>> 0) === th;
}

function hasBit(s: number, i: number): boolean {
  return contains(s, 2 ** i);
}

/**
 * A Scorer over toy models (one per image index) or a subset function. It checks every mask is a
 * 0/1 grid mask, answers asynchronously, and records calls, masks and each (image, subset) seen.
 */
export class ToyScorer implements Scorer {
  /** score() calls. */
  calls = 0;
  /** Masks received over all calls. */
  masks = 0;
  /** Number of masks in each call, in call order. */
  readonly batchSizes: number[] = [];
  /** Number of distinct images in each call, in call order. */
  readonly batchImages: number[] = [];
  /** image -> subset -> times received. */
  readonly seen = new Map<number, Map<number, number>>();
  readonly #fn: SubsetFn;

  constructor(
    readonly grid: number,
    models: readonly ToyModel[] | SubsetFn,
    readonly opts: { macrotask?: boolean } = {},
  ) {
    this.#fn = typeof models === "function" ? models : (s, image) => {
      const m = models[image];
      if (!m) throw new RangeError(`ToyScorer: no toy model for image ${image}`);
      return m.prob(s);
    };
  }

  /** The subset a received mask encodes; it must be a 0/1 mask of this grid. */
  decode(mask: Float32Array): number {
    if (mask.length !== this.grid * this.grid) {
      throw new RangeError(
        `ToyScorer: mask has ${mask.length} cells, expected ${this.grid}x${this.grid}`,
      );
    }
    return fromMask(mask);
  }

  async score(requests: readonly ScoreRequest[]): Promise<Float32Array> {
    this.calls++;
    this.batchSizes.push(requests.length);
    this.batchImages.push(new Set(requests.map((r) => r.image)).size);
    const out = new Float32Array(requests.length);
    requests.forEach((r, i) => {
      const s = this.decode(r.mask);
      this.masks++;
      let perImage = this.seen.get(r.image);
      if (!perImage) this.seen.set(r.image, perImage = new Map());
      perImage.set(s, (perImage.get(s) ?? 0) + 1);
      const p = this.#fn(s, r.image, r.cls);
      if (!(p >= 0 && p <= 1)) throw new RangeError(`ToyScorer: probability ${p} for subset ${s}`);
      out[i] = p;
    });
    if (this.opts.macrotask) await new Promise((res) => setTimeout(res, 0));
    else await Promise.resolve();
    return out;
  }

  /** Distinct (image, subset) pairs received, for one image or all. */
  distinct(image?: number): number {
    if (image !== undefined) return this.seen.get(image)?.size ?? 0;
    let n = 0;
    for (const m of this.seen.values()) n += m.size;
    return n;
  }

  /** The most times any one (image, subset) pair was received. */
  maxRepeats(): number {
    let mx = 0;
    for (const m of this.seen.values()) for (const c of m.values()) mx = Math.max(mx, c);
    return mx;
  }
}

/** A ToyScorer from a subset function (the same function for every image unless it reads it). */
export function fnScorer(
  grid: number,
  fn: (subset: number, image: number, cls: number) => number,
  opts?: { macrotask?: boolean },
): ToyScorer {
  return new ToyScorer(grid, fn, opts);
}

/**
 * Random monotone model on `patches` patches: random values per subset, then each subset takes the
 * largest value of its subsets, so revealing more never lowers p. For brute-force checks.
 */
export function randomMonotone(patches: number, rand: () => number): ToyModel & { pFull: number } {
  const n = universe(patches);
  if (n > 1 << 16) throw new RangeError("toy_scorers.randomMonotone: at most 16 patches");
  const v = new Float64Array(n);
  for (let s = 0; s < n; s++) v[s] = rand() ** 3;
  for (let i = 0; i < patches; i++) {
    for (let s = 0; s < n; s++) if (s & (1 << i)) v[s] = Math.max(v[s], v[s ^ (1 << i)]);
  }
  const p = Float64Array.from(v, (x) => Math.min(1, x));
  return { pFull: p[n - 1], prob: (s) => p[s] };
}

/** Random non-monotone model: an independent random probability for every subset. */
export function randomTable(patches: number, rand: () => number): ToyModel & { pFull: number } {
  const n = universe(patches);
  if (n > 1 << 16) throw new RangeError("toy_scorers.randomTable: at most 16 patches");
  const p = Float64Array.from({ length: n }, () => rand());
  p[n - 1] = Math.max(p[n - 1], 0.5);
  return { pFull: p[n - 1], prob: (s) => p[s] };
}

/**
 * Gathers the calls made within one macrotask into a single call of `inner`, like the real
 * coalescing Scorer, so tests can check that concurrent searches produce full batches.
 */
export class Coalescer implements Scorer {
  #pending: {
    reqs: readonly ScoreRequest[];
    resolve: (p: Float32Array) => void;
    reject: (e: unknown) => void;
  }[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Calls received from callers. */
  calls = 0;

  constructor(readonly inner: Scorer) {}

  score(requests: readonly ScoreRequest[]): Promise<Float32Array> {
    this.calls++;
    return new Promise((resolve, reject) => {
      this.#pending.push({ reqs: requests, resolve, reject });
      this.#timer ??= setTimeout(() => this.#flush(), 0);
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    this.#timer = undefined;
    try {
      const all = await this.inner.score(batch.flatMap((b) => b.reqs));
      let o = 0;
      for (const b of batch) {
        b.resolve(all.slice(o, o + b.reqs.length));
        o += b.reqs.length;
      }
    } catch (e) {
      for (const b of batch) b.reject(e);
    }
  }
}
