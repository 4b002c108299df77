/**
 * Small differentiable classifiers with analytic input gradients, and a Scorer that composes
 * masks in TypeScript over any GradientModel. Tests of the explanation cores use them because
 * the right answer (which pixels carry the evidence) is known by construction.
 */
import type { GradientModel, Scorer, ScoreRequest } from "../scorer.ts";
import { compose, type UpsampleMode, Upsampler } from "../upsample.ts";

type Shape = readonly [number, number, number];

function checkBatch(where: string, shape: Shape, x: Float32Array, n: number, cls: Int32Array) {
  const size = shape[0] * shape[1] * shape[2];
  if (x.length < n * size) {
    throw new Error(`${where}: x has length ${x.length}, expected at least ${n}x${size}`);
  }
  if (cls.length < n) throw new Error(`${where}: cls has ${cls.length} entries for ${n} rows`);
}

function softmaxInPlace(z: Float64Array): void {
  let max = -Infinity;
  for (const v of z) max = Math.max(max, v);
  let s = 0;
  for (let k = 0; k < z.length; k++) s += z[k] = Math.exp(z[k] - max);
  for (let k = 0; k < z.length; k++) z[k] /= s;
}

/** p = softmax(W x + b): W is one weight image per class, in the input's layout. */
export class LinearSoftmaxModel implements GradientModel {
  readonly inputShape: Shape;
  readonly #w: Float32Array[];
  readonly #b: Float64Array;

  constructor(inputShape: Shape, weights: Float32Array[], bias?: ArrayLike<number>) {
    const size = inputShape[0] * inputShape[1] * inputShape[2];
    weights.forEach((w, k) => {
      if (w.length !== size) {
        throw new Error(`LinearSoftmaxModel: weights[${k}] has length ${w.length}, not ${size}`);
      }
    });
    this.inputShape = inputShape;
    this.#w = weights;
    this.#b = Float64Array.from(bias ?? new Array(weights.length).fill(0));
  }

  #softmax(x: Float32Array, o: number): Float64Array {
    const z = new Float64Array(this.#w.length);
    for (let k = 0; k < z.length; k++) {
      const w = this.#w[k];
      let s = this.#b[k];
      for (let i = 0; i < w.length; i++) s += w[i] * x[o + i];
      z[k] = s;
    }
    softmaxInPlace(z);
    return z;
  }

  probs(x: Float32Array, n: number, cls: Int32Array): Promise<Float32Array> {
    checkBatch("LinearSoftmaxModel.probs", this.inputShape, x, n, cls);
    const size = this.#w[0].length;
    const out = new Float32Array(n);
    for (let r = 0; r < n; r++) out[r] = this.#softmax(x, r * size)[cls[r]];
    return Promise.resolve(out);
  }

  probsAndGrad(
    x: Float32Array,
    n: number,
    cls: Int32Array,
  ): Promise<{ probs: Float32Array; grad: Float32Array }> {
    checkBatch("LinearSoftmaxModel.probsAndGrad", this.inputShape, x, n, cls);
    const size = this.#w[0].length;
    const probs = new Float32Array(n);
    const grad = new Float32Array(n * size);
    for (let r = 0; r < n; r++) {
      const p = this.#softmax(x, r * size);
      const c = cls[r];
      probs[r] = p[c];
      // ∂p_c/∂x = p_c (w_c − Σ_k p_k w_k)
      for (let k = 0; k < p.length; k++) {
        const coef = p[c] * ((k === c ? 1 : 0) - p[k]);
        if (coef === 0) continue;
        const w = this.#w[k];
        for (let i = 0; i < size; i++) grad[r * size + i] += coef * w[i];
      }
    }
    return Promise.resolve({ probs, grad });
  }
}

/** p = softmax(W2 tanh(W1 x + b1) + b2): a nonlinear toy for gradient checks. */
export class TanhMlpModel implements GradientModel {
  readonly inputShape: Shape;

  /** w1: [hidden][input], w2: [classes][hidden]. */
  constructor(
    inputShape: Shape,
    readonly w1: Float32Array[],
    readonly b1: Float64Array,
    readonly w2: Float64Array[],
    readonly b2: Float64Array,
  ) {
    this.inputShape = inputShape;
  }

  #forward(x: Float32Array, o: number): { h: Float64Array; p: Float64Array } {
    const h = new Float64Array(this.w1.length);
    for (let j = 0; j < h.length; j++) {
      const w = this.w1[j];
      let s = this.b1[j];
      for (let i = 0; i < w.length; i++) s += w[i] * x[o + i];
      h[j] = Math.tanh(s);
    }
    const p = new Float64Array(this.w2.length);
    for (let k = 0; k < p.length; k++) {
      let s = this.b2[k];
      for (let j = 0; j < h.length; j++) s += this.w2[k][j] * h[j];
      p[k] = s;
    }
    softmaxInPlace(p);
    return { h, p };
  }

  probs(x: Float32Array, n: number, cls: Int32Array): Promise<Float32Array> {
    checkBatch("TanhMlpModel.probs", this.inputShape, x, n, cls);
    const size = this.w1[0].length;
    const out = new Float32Array(n);
    for (let r = 0; r < n; r++) out[r] = this.#forward(x, r * size).p[cls[r]];
    return Promise.resolve(out);
  }

  probsAndGrad(
    x: Float32Array,
    n: number,
    cls: Int32Array,
  ): Promise<{ probs: Float32Array; grad: Float32Array }> {
    checkBatch("TanhMlpModel.probsAndGrad", this.inputShape, x, n, cls);
    const size = this.w1[0].length;
    const probs = new Float32Array(n);
    const grad = new Float32Array(n * size);
    for (let r = 0; r < n; r++) {
      const { h, p } = this.#forward(x, r * size);
      const c = cls[r];
      probs[r] = p[c];
      for (let j = 0; j < h.length; j++) {
        let dh = 0;
        for (let k = 0; k < p.length; k++) dh += p[c] * ((k === c ? 1 : 0) - p[k]) * this.w2[k][j];
        const dpre = dh * (1 - h[j] * h[j]);
        const w = this.w1[j];
        for (let i = 0; i < size; i++) grad[r * size + i] += dpre * w[i];
      }
    }
    return Promise.resolve({ probs, grad });
  }
}

/** Rectangle of pixels [y0, y1) x [x0, x1). */
export interface Region {
  y0: number;
  y1: number;
  x0: number;
  x1: number;
}

/**
 * Two classes; class 0's logit is `gain · Σ_region x` (all channels) plus `bias`, class 1's is 0.
 * Evidence for class 0 lives only inside `region`.
 */
export function regionModel(shape: Shape, region: Region, gain: number, bias: number) {
  const [c, h, w] = shape;
  const w0 = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let y = region.y0; y < region.y1; y++) {
      for (let x = region.x0; x < region.x1; x++) w0[ch * h * w + y * w + x] = gain;
    }
  }
  return new LinearSoftmaxModel(shape, [w0, new Float32Array(c * h * w)], [bias, 0]);
}

/**
 * A Scorer over a GradientModel and in-memory images: composes x = I·U(m) + B·(1−U(m)) in
 * TypeScript (the ONNX wrapper graph does this on device for real models).
 */
export class ComposingScorer implements Scorer {
  readonly #ups = new Map<number, Upsampler>();
  /** Number of model calls made, for tests that check batching. */
  calls = 0;

  constructor(
    readonly model: GradientModel,
    readonly images: readonly Float32Array[],
    readonly baselines: readonly Float32Array[],
    readonly mode: UpsampleMode = "bilinear",
    readonly maxRowsPerCall = 256,
  ) {}

  async score(requests: readonly ScoreRequest[]): Promise<Float32Array> {
    const [c, h, w] = this.model.inputShape;
    const size = c * h * w;
    const out = new Float32Array(requests.length);
    for (let start = 0; start < requests.length; start += this.maxRowsPerCall) {
      const chunk = requests.slice(start, start + this.maxRowsPerCall);
      const x = new Float32Array(chunk.length * size);
      const cls = new Int32Array(chunk.length);
      chunk.forEach((r, i) => {
        const g = Math.round(Math.sqrt(r.mask.length));
        if (g * g !== r.mask.length) {
          throw new Error(`ComposingScorer: mask length ${r.mask.length} is not a square`);
        }
        const image = this.images[r.image], baseline = this.baselines[r.image];
        if (!image || !baseline) throw new Error(`ComposingScorer: no image ${r.image}`);
        let up = this.#ups.get(g);
        if (!up) this.#ups.set(g, up = new Upsampler(g, g, h, w, this.mode));
        compose(image, baseline, up.apply(r.mask), c, x.subarray(i * size, (i + 1) * size));
        cls[i] = r.cls;
      });
      this.calls++;
      out.set(await this.model.probs(x, chunk.length, cls), start);
    }
    return out;
  }
}
