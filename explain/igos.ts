/**
 * iGOS++ (METHODS §3) and the 7x7 I-GOS of the MSE candidate pool (METHODS §1 item 2), over the
 * GradientModel interface. The model only gives input gradients of p_c; composition, the
 * integrated path, the upsampling, the regularisers and the chain rule back to the masks are done
 * here, so the same code serves every model runtime and is checked against toy models.
 *
 * Images run in lockstep: each model call carries the integration steps (and line-search trials)
 * of many images, so a GPU sees full batches. Every image draws its noise from its own seeded
 * stream, so its heatmap does not depend on which other images share the batch.
 */
import { deriveSeed, Rng } from "../lib/rng.ts";
import type { GradientModel } from "./scorer.ts";
import { BilateralTv, bilateralWeights, tvNorm } from "./tv.ts";
import { SparseUpsampler } from "./fast_upsample.ts";

/**
 * How ε ~ N(0, noise²) is drawn. `exact`: Box-Muller per value (about 70 ns a value here, which
 * would dominate a GPU run: ~1.4e9 values per 224x224 image). `table` (default): each row adds a
 * slice of a seeded table of 2^22 standard normals at a random offset with a random sign; values
 * within a row are independent N(0, noise²) and rows are fresh slices (pixel-wise uncorrelated).
 * Rows of up to 2^21 values (3x836x836) are served.
 */
export type NoiseMode = "table" | "exact";

export interface IgosOptions {
  /** Optimisation iterations. */
  iterations: number;
  /** Integration steps N of the path score. */
  steps: number;
  /** Weight of mean|1 − M|. */
  l1: number;
  /** Weight of the smoothness term (bilateral TV for iGOS++, plain TV for I-GOS). */
  l2: number;
  /** Standard deviation of the noise added to every path point, in normalised space. */
  noise: number;
  noiseMode: NoiseMode;
  /** Side of the masks. */
  maskSize: number;
  /** Base seed; each image's stream is deriveSeed(seed, "igos", id). */
  seed: number;
  /** Armijo line search: first step, shrink factor, sufficient-decrease constant, floor. */
  stepStart: number;
  stepDecay: number;
  armijo: number;
  stepMin: number;
  /** Bilateral TV: σ of exp(−Δimage²/σ) and the power of |Δmask|. */
  sigma: number;
  tvPower: number;
  /** Upper bound on rows per model call (whole paths of N rows are never split; at least one). */
  maxRowsPerCall: number;
}

/** The `paper` preset: reference iGOS++ on ImageNet. */
export const defaults: Readonly<IgosOptions> = Object.freeze({
  iterations: 20,
  steps: 20,
  l1: 10,
  l2: 20,
  noise: 0.2,
  noiseMode: "table",
  maskSize: 28,
  seed: 0,
  stepStart: 1000,
  stepDecay: 0.2,
  armijo: 1e-4,
  stepMin: 1e-5,
  sigma: 0.01,
  tvPower: 2,
  maxRowsPerCall: 160,
});

/**
 * I-GOS at 7x7 for the MSE candidate pool: 2 iterations, N = 20, L1 = 1, TV = 20 (METHODS §1).
 * The first step 8 is the reference I-GOS line search's (a **decision** of METHODS §1).
 */
export const igos7Defaults: Readonly<IgosOptions> = Object.freeze({
  ...defaults,
  iterations: 2,
  steps: 20,
  l1: 1,
  l2: 20,
  maskSize: 7,
  stepStart: 8,
});

export const presets = Object.freeze({ paper: defaults });

export interface IgosItem {
  /**
   * Preprocessed image, normalised, [C, H, W]: the model input and, for iGOS++, the image whose
   * edges weight the bilateral TV (the reference's and METHODS §3's: the normalised image).
   */
  image: Float32Array;
  /** Baseline in the same space. */
  baseline: Float32Array;
  /** Class explained. */
  cls: number;
  /** Label of the image's noise stream; defaults to its index in the batch. */
  id?: string | number;
}

export interface IgosCounters {
  images: number;
  /** Rows sent through probsAndGrad. */
  gradientEvaluations: number;
  /** Rows sent through probs. */
  forwardEvaluations: number;
  modelCalls: number;
  /** Line-search trials summed over images and iterations. */
  lineSearchTrials: number;
  /** Wall time of the whole call, and the part spent awaiting the model. */
  seconds: number;
  modelSeconds: number;
}

/** One iteration of one image. */
export interface IgosStep {
  lossBefore: number;
  /** L at the masks kept: the accepted trial, or lossBefore when none was accepted. */
  lossAfter: number;
  /** The last step size tried. */
  alpha: number;
  /** false when α fell below stepMin without sufficient decrease: the masks are left as they were. */
  accepted: boolean;
  trials: number;
}

export interface IgosResult {
  /** S = 1 − Md·Mi at maskSize², row-major: high = salient. */
  heatmaps: Float32Array[];
  deletionMasks: Float32Array[];
  insertionMasks: Float32Array[];
  counters: IgosCounters;
  trace: IgosStep[][];
}

export interface Igos7Result {
  /** The I-GOS masks at maskSize² (low = salient). */
  masks: Float32Array[];
  counters: IgosCounters;
  trace: IgosStep[][];
}

export type IgosMethod = "igos++" | "igos";

interface Term {
  del: boolean;
  masks: readonly number[];
}

interface MethodSpec {
  nMasks: number;
  terms: readonly Term[];
  /** Factor of the model terms in the gradient (not in L). */
  gradWeight: number;
}

const METHODS: Record<IgosMethod, MethodSpec> = {
  // L = del(Md) + ins(Mi) + del(P) + ins(P) + R; g = ½ ∇(model terms) + ∇R.
  "igos++": {
    nMasks: 2,
    terms: [
      { del: true, masks: [0, 1] },
      { del: false, masks: [0, 1] },
      { del: true, masks: [0] },
      { del: false, masks: [1] },
    ],
    gradWeight: 0.5,
  },
  igos: { nMasks: 1, terms: [{ del: true, masks: [0] }], gradWeight: 1 },
};

/** Merges and validates options; errors name the key at fault. */
export function resolveOptions(
  partial: Partial<IgosOptions> = {},
  base: Readonly<IgosOptions> = defaults,
): IgosOptions {
  const o: IgosOptions = { ...base, ...partial };
  const positiveInt = ["iterations", "steps", "maskSize", "maxRowsPerCall"] as const;
  for (const k of positiveInt) {
    if (!Number.isInteger(o[k]) || o[k] < 1) {
      throw new Error(`igos options: ${k} must be a positive integer, got ${o[k]}`);
    }
  }
  const nonNegative = ["l1", "l2", "noise", "armijo", "stepMin"] as const;
  for (const k of nonNegative) {
    if (!(Number.isFinite(o[k]) && o[k] >= 0)) {
      throw new Error(`igos options: ${k} must be a finite number >= 0, got ${o[k]}`);
    }
  }
  const positive = ["stepStart", "sigma", "tvPower"] as const;
  for (const k of positive) {
    if (!(Number.isFinite(o[k]) && o[k] > 0)) {
      throw new Error(`igos options: ${k} must be a finite number > 0, got ${o[k]}`);
    }
  }
  if (!(o.stepDecay > 0 && o.stepDecay < 1)) {
    throw new Error(`igos options: stepDecay must be in (0, 1), got ${o.stepDecay}`);
  }
  if (o.noiseMode !== "table" && o.noiseMode !== "exact") {
    throw new Error(`igos options: noiseMode must be "table" or "exact", got ${o.noiseMode}`);
  }
  if (!Number.isInteger(o.seed)) throw new Error(`igos options: seed must be an integer`);
  return o;
}

// ---------------------------------------------------------------------------------------------
// Noise

const TABLE_BITS = 22;
/** Longest row the table serves without wrapping (the table repeats its start after 2^22). */
const TABLE_PAD = 1 << 21;
const tables = new Map<number, Float32Array>();

/** 2^22 seeded standard normals, followed by a copy of the first TABLE_PAD of them. */
function noiseTable(seed: number): Float32Array {
  let t = tables.get(seed);
  if (!t) {
    const rng = new Rng(deriveSeed(seed, "igos-noise-table"));
    const len = 1 << TABLE_BITS;
    t = new Float32Array(len + TABLE_PAD);
    fillNormal(rng, t.subarray(0, len), 1);
    t.copyWithin(len, 0, TABLE_PAD);
    if (tables.size >= 2) tables.clear();
    tables.set(seed, t);
  }
  return t;
}

/** Fills `out` with independent N(0, std²), Box-Muller using both outputs. */
function fillNormal(rng: Rng, out: Float32Array, std: number): void {
  for (let i = 0; i < out.length; i += 2) {
    let u = 0;
    while (u === 0) u = rng.next();
    const v = 2 * Math.PI * rng.next();
    const r = std * Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(v);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(v);
  }
}

/**
 * The noise of one row: a view of `length` values and its scale. `table` mode returns a slice of
 * the shared table at a random offset with a random sign; `exact` draws fresh values.
 */
function rowNoise(
  rng: Rng,
  length: number,
  std: number,
  mode: NoiseMode,
  seed: number,
): { values: Float32Array; scale: number } {
  if (mode === "exact") {
    const values = new Float32Array(length);
    fillNormal(rng, values, 1);
    return { values, scale: std };
  }
  if (length > TABLE_PAD) {
    throw new Error(
      `igos: input of ${length} values exceeds the noise table; use noiseMode "exact"`,
    );
  }
  const table = noiseTable(seed);
  const offset = rng.int(1 << TABLE_BITS);
  const scale = rng.next() < 0.5 ? -std : std;
  return { values: table.subarray(offset, offset + length), scale };
}

// ---------------------------------------------------------------------------------------------
// Engine

interface ImageState {
  item: IgosItem;
  rng: Rng;
  /** I − B. */
  diff: Float32Array;
  masks: Float64Array[];
  /** R(M) at mask size; adds ∂R/∂M into grad when given. */
  regulariser: (m: Float64Array, grad?: Float64Array) => number;
  trace: IgosStep[];
}

/** One path score IS for one image, one term, one set of masks. */
interface Job {
  state: ImageState;
  term: Term;
  /** Upsampled masks, by mask index (only those the term uses are set). */
  ups: Float32Array[];
  value: number;
  /** ∂(term)/∂u at image size, when gradients were asked for. */
  gu?: Float64Array;
}

class Engine {
  readonly up: SparseUpsampler;
  readonly hw: number;
  readonly chw: number;
  readonly channels: number;
  readonly counters: IgosCounters;
  #buffer?: Float32Array;

  constructor(
    readonly model: GradientModel,
    readonly opts: IgosOptions,
    readonly spec: MethodSpec,
    images: number,
  ) {
    const [c, h, w] = model.inputShape;
    this.channels = c;
    this.hw = h * w;
    this.chw = c * h * w;
    this.up = new SparseUpsampler(opts.maskSize, opts.maskSize, h, w, "bilinear");
    this.counters = {
      images,
      gradientEvaluations: 0,
      forwardEvaluations: 0,
      modelCalls: 0,
      lineSearchTrials: 0,
      seconds: 0,
      modelSeconds: 0,
    };
  }

  /** Jobs of every term of `spec` for `state` at `masks`. */
  jobs(state: ImageState, masks: Float64Array[]): Job[] {
    const ups = masks.map((m) => this.up.apply(m));
    return this.spec.terms.map((term) => ({ state, term, ups, value: 0 }));
  }

  /** Runs jobs in calls of at most maxRowsPerCall rows; fills value (and gu). */
  async run(jobs: Job[], withGrad: boolean): Promise<void> {
    const n = this.opts.steps;
    const perCall = Math.max(1, Math.floor(this.opts.maxRowsPerCall / n));
    for (let start = 0; start < jobs.length; start += perCall) {
      const chunk = jobs.slice(start, start + perCall);
      const rows = chunk.length * n;
      const size = rows * this.chw;
      if (!this.#buffer || this.#buffer.length < size) this.#buffer = new Float32Array(size);
      const x = this.#buffer.subarray(0, size);
      const cls = new Int32Array(rows);
      chunk.forEach((job, j) => this.#compose(job, x, j * n, cls));
      const t0 = performance.now();
      let probs: Float32Array, grad: Float32Array | undefined;
      if (withGrad) {
        ({ probs, grad } = await this.model.probsAndGrad(x, rows, cls));
        this.counters.gradientEvaluations += rows;
      } else {
        probs = await this.model.probs(x, rows, cls);
        this.counters.forwardEvaluations += rows;
      }
      this.counters.modelSeconds += (performance.now() - t0) / 1000;
      this.counters.modelCalls++;
      if (probs.length < rows || (grad && grad.length < size)) {
        throw new Error(
          `igos: model returned ${probs.length} probabilities` +
            (grad ? ` and ${grad.length} gradient values` : "") + ` for ${rows} rows`,
        );
      }
      chunk.forEach((job, j) => this.#reduce(job, probs, grad, j * n));
    }
  }

  /** Rows k = 1..N: x = base + s·(k/N)·u·(I − B) + ε, base = B (del) or I (ins). */
  #compose(job: Job, x: Float32Array, row0: number, cls: Int32Array) {
    const { chw, hw, channels } = this;
    const { item, diff, rng } = job.state;
    const n = this.opts.steps;
    const u = this.#product(job);
    const base = job.term.del ? item.baseline : item.image;
    const noisy = this.opts.noise > 0;
    for (let k = 1; k <= n; k++) {
      const r = row0 + k - 1;
      const s = (job.term.del ? k : -k) / n;
      const row = x.subarray(r * chw, (r + 1) * chw);
      if (noisy) {
        const { values, scale } = rowNoise(
          rng,
          chw,
          this.opts.noise,
          this.opts.noiseMode,
          this.opts.seed,
        );
        for (let c = 0; c < channels; c++) {
          const o = c * hw;
          for (let p = 0; p < hw; p++) {
            row[o + p] = base[o + p] + s * u[p] * diff[o + p] + scale * values[o + p];
          }
        }
      } else {
        for (let c = 0; c < channels; c++) {
          const o = c * hw;
          for (let p = 0; p < hw; p++) row[o + p] = base[o + p] + s * u[p] * diff[o + p];
        }
      }
      cls[r] = item.cls;
    }
  }

  /** u of a term: the product of its upsampled masks. */
  #product(job: Job): Float32Array {
    const ms = job.term.masks;
    if (ms.length === 1) return job.ups[ms[0]];
    const u = Float32Array.from(job.ups[ms[0]]);
    for (let i = 1; i < ms.length; i++) {
      const v = job.ups[ms[i]];
      for (let p = 0; p < u.length; p++) u[p] *= v[p];
    }
    return u;
  }

  /**
   * value = ±(1/N) Σ_k p_k (− for insertion). Both signs give the same
   * ∂value/∂u = (1/N) Σ_k (k/N) Σ_c (I − B)_c · ∂p_k/∂x_c.
   */
  #reduce(job: Job, probs: Float32Array, grad: Float32Array | undefined, row0: number) {
    const n = this.opts.steps;
    let s = 0;
    for (let k = 0; k < n; k++) s += probs[row0 + k];
    job.value = (job.term.del ? s : -s) / n;
    if (!grad) return;
    const { chw, hw, channels } = this;
    const diff = job.state.diff;
    const gu = new Float64Array(hw);
    for (let k = 1; k <= n; k++) {
      const o = (row0 + k - 1) * chw;
      const f = k / (n * n);
      for (let c = 0; c < channels; c++) {
        const oc = o + c * hw;
        for (let p = 0; p < hw; p++) gu[p] += f * diff[c * hw + p] * grad[oc + p];
      }
    }
    job.gu = gu;
  }

  /** Product of the masks at mask size. */
  product(masks: Float64Array[]): Float64Array {
    const m = Float64Array.from(masks[0]);
    for (let i = 1; i < masks.length; i++) {
      for (let p = 0; p < m.length; p++) m[p] *= masks[i][p];
    }
    return m;
  }

  /** L = Σ term values + R(Π masks). */
  loss(state: ImageState, masks: Float64Array[], jobs: Job[]): number {
    let l = 0;
    for (const j of jobs) l += j.value;
    return l + state.regulariser(this.product(masks));
  }

  /** g_j = gradWeight · Σ_terms Uᵀ(gu ⊙ Π_{k≠j} U(M_k)) + ∂R/∂M ⊙ Π_{k≠j} M_k. */
  grads(state: ImageState, masks: Float64Array[], jobs: Job[]): Float64Array[] {
    const g2 = masks[0].length;
    const out = masks.map(() => new Float64Array(g2));
    const hw = this.hw;
    for (let j = 0; j < masks.length; j++) {
      const acc = new Float64Array(hw);
      let any = false;
      for (const job of jobs) {
        if (!job.term.masks.includes(j) || !job.gu) continue;
        any = true;
        const others = job.term.masks.filter((k) => k !== j).map((k) => job.ups[k]);
        for (let p = 0; p < hw; p++) {
          let v = job.gu[p];
          for (const o of others) v *= o[p];
          acc[p] += v;
        }
      }
      if (!any) continue;
      const gm = this.up.adjoint(acc);
      for (let p = 0; p < g2; p++) out[j][p] = this.spec.gradWeight * gm[p];
    }
    const gr = new Float64Array(g2);
    state.regulariser(this.product(masks), gr);
    for (let j = 0; j < masks.length; j++) {
      for (let p = 0; p < g2; p++) {
        let v = gr[p];
        for (let k = 0; k < masks.length; k++) if (k !== j) v *= masks[k][p];
        out[j][p] += v;
      }
    }
    return out;
  }
}

function makeStates(
  method: IgosMethod,
  items: readonly IgosItem[],
  model: GradientModel,
  opts: IgosOptions,
  up: SparseUpsampler,
): ImageState[] {
  const [c, h, w] = model.inputShape;
  const chw = c * h * w;
  const g2 = opts.maskSize * opts.maskSize;
  return items.map((item, i) => {
    const where = `igos: items[${i}]`;
    if (item.image.length !== chw) {
      throw new Error(`${where}.image has length ${item.image.length}, expected ${c}x${h}x${w}`);
    }
    if (item.baseline.length !== chw) {
      throw new Error(
        `${where}.baseline has length ${item.baseline.length}, expected ${c}x${h}x${w}`,
      );
    }
    if (!Number.isInteger(item.cls) || item.cls < 0) {
      throw new Error(`${where}.cls must be a class index, got ${item.cls}`);
    }
    const diff = new Float32Array(chw);
    for (let p = 0; p < chw; p++) diff[p] = item.image[p] - item.baseline[p];
    let smooth: (m: Float64Array, grad?: Float64Array, scale?: number) => number;
    if (method === "igos++") {
      const btv = new BilateralTv(
        bilateralWeights(item.image, c, h, w, opts.sigma),
        up,
        opts.tvPower,
      );
      smooth = (m, grad, scale) => btv.value(m, grad, scale);
    } else {
      smooth = (m, grad, scale) =>
        tvNorm(m, opts.maskSize, opts.maskSize, opts.tvPower, grad, scale);
    }
    const regulariser = (m: Float64Array, grad?: Float64Array) => {
      let l1 = 0;
      for (let p = 0; p < g2; p++) {
        const d = 1 - m[p];
        l1 += Math.abs(d);
        // d|1 − m|/dm = −sign(1 − m), 0 at m = 1 (autograd's convention).
        if (grad && d !== 0) grad[p] -= (opts.l1 * Math.sign(d)) / g2;
      }
      return (opts.l1 * l1) / g2 + opts.l2 * smooth(m, grad, opts.l2);
    };
    return {
      item,
      rng: new Rng(deriveSeed(opts.seed, "igos", item.id ?? i)),
      diff,
      masks: Array.from({ length: METHODS[method].nMasks }, () => new Float64Array(g2).fill(1)),
      regulariser,
      trace: [],
    };
  });
}

async function optimise(
  method: IgosMethod,
  items: readonly IgosItem[],
  model: GradientModel,
  opts: IgosOptions,
): Promise<{ states: ImageState[]; counters: IgosCounters }> {
  const t0 = performance.now();
  const spec = METHODS[method];
  const eng = new Engine(model, opts, spec, items.length);
  const states = makeStates(method, items, model, opts, eng.up);
  const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
  for (let it = 0; it < opts.iterations && states.length > 0; it++) {
    // Gradients at the current masks.
    const gradJobs = states.map((s) => eng.jobs(s, s.masks));
    await eng.run(gradJobs.flat(), true);
    const grads = states.map((s, i) => eng.grads(s, s.masks, gradJobs[i]));
    const gg = grads.map((gs) => gs.reduce((a, g) => a + g.reduce((b, v) => b + v * v, 0), 0));
    // L(old), fresh noise as in the reference.
    const baseJobs = states.map((s) => eng.jobs(s, s.masks));
    await eng.run(baseJobs.flat(), false);
    const lossOld = states.map((s, i) => eng.loss(s, s.masks, baseJobs[i]));
    // One Armijo backtracking search per image, trials of all images batched together.
    const alpha = states.map(() => opts.stepStart);
    const trials = states.map(() => 0);
    let active = states.map((_, i) => i);
    while (active.length > 0) {
      const trialMasks = active.map((i) =>
        states[i].masks.map((m, j) => m.map((v, p) => clamp01(v - alpha[i] * grads[i][j][p])))
      );
      const trialJobs = active.map((i, a) => eng.jobs(states[i], trialMasks[a]));
      await eng.run(trialJobs.flat(), false);
      const next: number[] = [];
      active.forEach((i, a) => {
        const s = states[i];
        const lossNew = eng.loss(s, trialMasks[a], trialJobs[a]);
        trials[i]++;
        const accepted = lossNew <= lossOld[i] - opts.armijo * alpha[i] * gg[i];
        if (accepted || alpha[i] < opts.stepMin) {
          // **decision**: when no step passes, the masks stay (the reference takes the last,
          // < stepMin, step anyway); so without noise L never increases.
          if (accepted) s.masks = trialMasks[a];
          s.trace.push({
            lossBefore: lossOld[i],
            lossAfter: accepted ? lossNew : lossOld[i],
            alpha: alpha[i],
            accepted,
            trials: trials[i],
          });
        } else {
          alpha[i] *= opts.stepDecay;
          next.push(i);
        }
      });
      active = next;
    }
    eng.counters.lineSearchTrials += trials.reduce((a, b) => a + b, 0);
  }
  eng.counters.seconds = (performance.now() - t0) / 1000;
  return { states, counters: eng.counters };
}

/** iGOS++ heatmaps for many images in lockstep. */
export async function igosBatch(
  items: readonly IgosItem[],
  model: GradientModel,
  options: Partial<IgosOptions> = {},
): Promise<IgosResult> {
  const opts = resolveOptions(options, defaults);
  const { states, counters } = await optimise("igos++", items, model, opts);
  return {
    heatmaps: states.map((s) => {
      const [d, i] = s.masks;
      return Float32Array.from(d, (v, p) => 1 - v * i[p]);
    }),
    deletionMasks: states.map((s) => Float32Array.from(s.masks[0])),
    insertionMasks: states.map((s) => Float32Array.from(s.masks[1])),
    counters,
    trace: states.map((s) => s.trace),
  };
}

/** I-GOS masks at 7x7 (by default) for the MSE search's candidate pool; low = salient. */
export async function igos7(
  items: readonly IgosItem[],
  model: GradientModel,
  options: Partial<IgosOptions> = {},
): Promise<Igos7Result> {
  const opts = resolveOptions(options, igos7Defaults);
  const { states, counters } = await optimise("igos", items, model, opts);
  return {
    masks: states.map((s) => Float32Array.from(s.masks[0])),
    counters,
    trace: states.map((s) => s.trace),
  };
}

/**
 * L and the search direction at given masks for one image, with one noise draw: `surrogate` is
 * J = gradWeight·(model terms) + R, whose exact gradient `grads` is (g_d, g_i) of METHODS §3.
 * For tests (finite differences) and diagnostics.
 */
export async function igosObjective(
  method: IgosMethod,
  item: IgosItem,
  model: GradientModel,
  masks: readonly Float64Array[],
  options: Partial<IgosOptions> = {},
): Promise<{ loss: number; surrogate: number; grads: Float64Array[] }> {
  const opts = resolveOptions(options, method === "igos++" ? defaults : igos7Defaults);
  const spec = METHODS[method];
  if (masks.length !== spec.nMasks) {
    throw new Error(`igosObjective: ${method} takes ${spec.nMasks} masks, got ${masks.length}`);
  }
  const eng = new Engine(model, opts, spec, 1);
  const [state] = makeStates(method, [item], model, opts, eng.up);
  const ms = masks.map((m) => Float64Array.from(m));
  const jobs = eng.jobs(state, ms);
  await eng.run(jobs, true);
  let terms = 0;
  for (const j of jobs) terms += j.value;
  const r = state.regulariser(eng.product(ms));
  return {
    loss: terms + r,
    surrogate: spec.gradWeight * terms + r,
    grads: eng.grads(state, ms, jobs),
  };
}
