/**
 * U(m): the grid-to-image upsampling of METHODS.md, and its adjoint for gradients.
 * `bilinear` is align_corners = true (a revealed patch is a smooth tent, the reference behaviour);
 * `nearest` is hard blocks: source cell floor(y * g / H). The ONNX wrapper graph must match both.
 */

export type UpsampleMode = "bilinear" | "nearest";

/** Row-major [out, g] interpolation matrix along one axis. */
export function axisWeights(g: number, out: number, mode: UpsampleMode): Float32Array {
  const w = new Float32Array(out * g);
  for (let y = 0; y < out; y++) {
    if (mode === "nearest") {
      w[y * g + Math.min(g - 1, Math.floor((y * g) / out))] = 1;
      continue;
    }
    const src = out === 1 ? 0 : (y * (g - 1)) / (out - 1);
    const i0 = Math.min(g - 1, Math.floor(src));
    const i1 = Math.min(g - 1, i0 + 1);
    const f = src - i0;
    w[y * g + i0] += 1 - f;
    w[y * g + i1] += f;
  }
  return w;
}

/** Precomputed separable upsampler from a `gh x gw` grid to `h x w` pixels. */
export class Upsampler {
  readonly wy: Float32Array;
  readonly wx: Float32Array;
  readonly #tmp: Float32Array;

  constructor(
    readonly gh: number,
    readonly gw: number,
    readonly h: number,
    readonly w: number,
    readonly mode: UpsampleMode,
  ) {
    this.wy = axisWeights(gh, h, mode);
    this.wx = axisWeights(gw, w, mode);
    this.#tmp = new Float32Array(h * gw);
  }

  /**
   * out[h*w] = (Wy · mask[gh*gw]) · Wxᵀ, rows first with the [h, gw] intermediate rounded to
   * float32: the order and roundings of the ONNX wrapper's two MatMuls.
   */
  apply(mask: ArrayLike<number>, out = new Float32Array(this.h * this.w)): Float32Array {
    const { gh, gw, h, w, wy, wx } = this;
    const tmp = this.#tmp;
    for (let y = 0; y < h; y++) {
      for (let j = 0; j < gw; j++) {
        let s = 0;
        for (let i = 0; i < gh; i++) s += wy[y * gh + i] * mask[i * gw + j];
        tmp[y * gw + j] = s;
      }
    }
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let s = 0;
        for (let j = 0; j < gw; j++) s += tmp[y * gw + j] * wx[x * gw + j];
        out[y * w + x] = s;
      }
    }
    return out;
  }

  /** Adjoint: out[gh*gw] = Wyᵀ · grad[h*w] · Wx, the chain rule through U. */
  adjoint(grad: ArrayLike<number>, out = new Float32Array(this.gh * this.gw)): Float32Array {
    const { gh, gw, h, w, wy, wx } = this;
    const tmp = new Float32Array(gh * w);
    for (let y = 0; y < h; y++) {
      for (let i = 0; i < gh; i++) {
        const a = wy[y * gh + i];
        if (a === 0) continue;
        for (let x = 0; x < w; x++) tmp[i * w + x] += a * grad[y * w + x];
      }
    }
    for (let i = 0; i < gh; i++) {
      for (let j = 0; j < gw; j++) {
        let s = 0;
        for (let x = 0; x < w; x++) s += tmp[i * w + x] * wx[x * gw + j];
        out[i * gw + j] = s;
      }
    }
    return out;
  }
}

/**
 * x = I·U(m) + B·(1−U(m)) for one image with `channels` planes of `u.length` pixels each,
 * evaluated as B + f32(f32(I − B)·U) in float32 steps: the reference composition the ONNX wrapper
 * graph reproduces bit for bit (it takes f32(I − B) per image and does one Mul and one Add).
 */
export function compose(
  image: Float32Array,
  baseline: Float32Array,
  u: Float32Array,
  channels: number,
  out = new Float32Array(image.length),
): Float32Array {
  const hw = u.length;
  const fround = Math.fround;
  for (let c = 0; c < channels; c++) {
    const o = c * hw;
    for (let p = 0; p < hw; p++) {
      const b = baseline[o + p];
      out[o + p] = b + fround(fround(image[o + p] - b) * u[p]);
    }
  }
  return out;
}
