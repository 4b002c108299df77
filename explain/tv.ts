/**
 * Smoothness regularisers of I-GOS and iGOS++ with their exact gradients, so that the mask
 * optimisation can run the chain rule in TypeScript instead of an autograd framework.
 *
 * Conventions follow the reference iGOS++ code (methods_helper.py): every term is a *mean* over
 * its neighbour pairs, `|Δ|^power`; the bilateral weights of vertical pairs are
 * `exp(−(mean_c Δimage)² / σ)` and those of horizontal pairs `mean_c exp(−Δimage_c² / σ)`
 * (the reference treats the two axes differently; we keep its behaviour). The image is the
 * model's normalised input, as in the reference and METHODS §3: σ = 0.01 is set for that scale
 * (weights from [0, 1] pixels made the edge term (1/std)² weaker: 8x on the zoo, 19x on ImageNet).
 */

/** What BTV needs of U: Upsampler (upsample.ts) and SparseUpsampler (fast_upsample.ts) fit. */
export interface GridUpsampler {
  readonly gh: number;
  readonly gw: number;
  readonly h: number;
  readonly w: number;
  apply(mask: ArrayLike<number>): Float32Array;
  adjoint(grad: ArrayLike<number>): ArrayLike<number>;
}

/** d|x|^p/dx, with the derivative at 0 taken as 0 (as autograd does for p >= 1). */
function powGrad(d: number, power: number): number {
  if (d === 0) return 0;
  if (power === 2) return 2 * d;
  if (power === 1) return Math.sign(d);
  return power * Math.pow(Math.abs(d), power - 1) * Math.sign(d);
}

function powAbs(d: number, power: number): number {
  return power === 2 ? d * d : Math.pow(Math.abs(d), power);
}

/**
 * Total variation of an `h x w` map: mean over vertical pairs of |Δ|^power plus the same over
 * horizontal pairs. When `grad` is given, adds `scale · ∂TV/∂m` into it.
 */
export function tvNorm(
  m: ArrayLike<number>,
  h: number,
  w: number,
  power: number,
  grad?: Float64Array,
  scale = 1,
): number {
  let a = 0, b = 0;
  const na = (h - 1) * w, nb = h * (w - 1);
  for (let y = 0; y + 1 < h; y++) {
    for (let x = 0; x < w; x++) {
      const d = m[y * w + x] - m[(y + 1) * w + x];
      a += powAbs(d, power);
      if (grad) {
        const g = (scale * powGrad(d, power)) / na;
        grad[y * w + x] += g;
        grad[(y + 1) * w + x] -= g;
      }
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x + 1 < w; x++) {
      const d = m[y * w + x] - m[y * w + x + 1];
      b += powAbs(d, power);
      if (grad) {
        const g = (scale * powGrad(d, power)) / nb;
        grad[y * w + x] += g;
        grad[y * w + x + 1] -= g;
      }
    }
  }
  return (na > 0 ? a / na : 0) + (nb > 0 ? b / nb : 0);
}

/** Edge-aware weights of neighbour pairs at image size, from the normalised image. */
export interface BilateralWeights {
  h: number;
  w: number;
  /** [(h-1) * w]: pair (y, x)–(y+1, x). */
  vertical: Float32Array;
  /** [h * (w-1)]: pair (y, x)–(y, x+1). */
  horizontal: Float32Array;
}

/** Weights from `image` ([channels, h, w], the model's normalised input). */
export function bilateralWeights(
  image: Float32Array,
  channels: number,
  h: number,
  w: number,
  sigma: number,
): BilateralWeights {
  if (image.length !== channels * h * w) {
    throw new Error(
      `tv.bilateralWeights: image has length ${image.length}, expected ${channels}x${h}x${w}`,
    );
  }
  const hw = h * w;
  const vertical = new Float32Array((h - 1) * w);
  const horizontal = new Float32Array(h * (w - 1));
  for (let y = 0; y + 1 < h; y++) {
    for (let x = 0; x < w; x++) {
      let d = 0;
      for (let c = 0; c < channels; c++) {
        d += image[c * hw + y * w + x] - image[c * hw + (y + 1) * w + x];
      }
      d /= channels;
      vertical[y * w + x] = Math.exp(-(d * d) / sigma);
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x + 1 < w; x++) {
      let s = 0;
      for (let c = 0; c < channels; c++) {
        const d = image[c * hw + y * w + x] - image[c * hw + y * w + x + 1];
        s += Math.exp(-(d * d) / sigma);
      }
      horizontal[y * (w - 1) + x] = s / channels;
    }
  }
  return { h, w, vertical, horizontal };
}

/** Weighted TV of an image-size map `u`; adds `scale · ∂/∂u` into `grad` when given. */
export function weightedTv(
  u: ArrayLike<number>,
  weights: BilateralWeights,
  power: number,
  grad?: Float64Array | Float32Array,
  scale = 1,
): number {
  const { h, w, vertical, horizontal } = weights;
  const na = (h - 1) * w, nb = h * (w - 1);
  let a = 0, b = 0;
  for (let y = 0; y + 1 < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const d = u[i] - u[i + w];
      const k = vertical[i];
      a += k * powAbs(d, power);
      if (grad) {
        const g = (scale * k * powGrad(d, power)) / na;
        grad[i] += g;
        grad[i + w] -= g;
      }
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x + 1 < w; x++) {
      const i = y * w + x;
      const d = u[i] - u[i + 1];
      const k = horizontal[y * (w - 1) + x];
      b += k * powAbs(d, power);
      if (grad) {
        const g = (scale * k * powGrad(d, power)) / nb;
        grad[i] += g;
        grad[i + 1] -= g;
      }
    }
  }
  return (na > 0 ? a / na : 0) + (nb > 0 ? b / nb : 0);
}

/**
 * BTV(m) = ½ (TV(m) at mask size + bilateral TV of U(m) at image size), the iGOS++ smoothness
 * term, with its gradient through the upsampler's adjoint.
 */
export class BilateralTv {
  readonly #up: GridUpsampler;
  readonly #weights: BilateralWeights;
  readonly #power: number;
  readonly #gu: Float64Array;

  constructor(weights: BilateralWeights, up: GridUpsampler, power: number) {
    if (weights.h !== up.h || weights.w !== up.w) {
      throw new Error(
        `tv.BilateralTv: weights are ${weights.h}x${weights.w}, upsampler gives ${up.h}x${up.w}`,
      );
    }
    this.#up = up;
    this.#weights = weights;
    this.#power = power;
    this.#gu = new Float64Array(up.h * up.w);
  }

  /** Value at mask `m` (gh x gw); adds `scale · ∂BTV/∂m` into `grad` when given. */
  value(m: ArrayLike<number>, grad?: Float64Array, scale = 1): number {
    const up = this.#up;
    const tv = tvNorm(m, up.gh, up.gw, this.#power, grad, scale / 2);
    const u = up.apply(m);
    let bil: number;
    if (grad) {
      const gu = this.#gu.fill(0);
      bil = weightedTv(u, this.#weights, this.#power, gu, scale / 2);
      const gm = up.adjoint(gu);
      for (let i = 0; i < gm.length; i++) grad[i] += gm[i];
    } else {
      bil = weightedTv(u, this.#weights, this.#power);
    }
    return 0.5 * (tv + bil);
  }
}
