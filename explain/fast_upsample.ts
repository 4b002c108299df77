/**
 * The same U(m) as upsample.ts's Upsampler, but using only the non-zero interpolation weights
 * (at most two per output row/column), which makes apply ~10x faster at 28 -> 224. iGOS++ calls
 * it several times per image and iteration, so it matters there.
 */
import { axisWeights, type UpsampleMode } from "./upsample.ts";

interface SparseAxis {
  /** Per output index: up to two source indices and weights (weight 0 when unused). */
  i0: Int32Array;
  i1: Int32Array;
  w0: Float64Array;
  w1: Float64Array;
}

function sparseAxis(g: number, out: number, mode: UpsampleMode): SparseAxis {
  const w = axisWeights(g, out, mode);
  const a: SparseAxis = {
    i0: new Int32Array(out),
    i1: new Int32Array(out),
    w0: new Float64Array(out),
    w1: new Float64Array(out),
  };
  for (let y = 0; y < out; y++) {
    let k = 0;
    for (let j = 0; j < g; j++) {
      const v = w[y * g + j];
      if (v === 0) continue;
      if (k === 0) (a.i0[y] = j), (a.w0[y] = v), (a.i1[y] = j);
      else if (k === 1) (a.i1[y] = j), (a.w1[y] = v);
      else throw new Error(`fast_upsample: more than two weights on output ${y}`);
      k++;
    }
  }
  return a;
}

/** Separable upsampler from a `gh x gw` grid to `h x w` pixels, with its adjoint. */
export class SparseUpsampler {
  readonly #y: SparseAxis;
  readonly #x: SparseAxis;
  readonly #tmp: Float64Array;

  constructor(
    readonly gh: number,
    readonly gw: number,
    readonly h: number,
    readonly w: number,
    readonly mode: UpsampleMode,
  ) {
    this.#y = sparseAxis(gh, h, mode);
    this.#x = sparseAxis(gw, w, mode);
    this.#tmp = new Float64Array(gh * w);
  }

  /** out[h*w] = Wy · mask · Wxᵀ. */
  apply(mask: ArrayLike<number>, out = new Float32Array(this.h * this.w)): Float32Array {
    const { gh, gw, h, w } = this;
    const X = this.#x, Y = this.#y, tmp = this.#tmp;
    for (let i = 0; i < gh; i++) {
      const r = i * gw;
      for (let x = 0; x < w; x++) {
        tmp[i * w + x] = X.w0[x] * mask[r + X.i0[x]] + X.w1[x] * mask[r + X.i1[x]];
      }
    }
    for (let y = 0; y < h; y++) {
      const a = Y.i0[y] * w, b = Y.i1[y] * w, wa = Y.w0[y], wb = Y.w1[y];
      const o = y * w;
      for (let x = 0; x < w; x++) out[o + x] = wa * tmp[a + x] + wb * tmp[b + x];
    }
    return out;
  }

  /** Adjoint: out[gh*gw] = Wyᵀ · grad · Wx. */
  adjoint(grad: ArrayLike<number>, out = new Float64Array(this.gh * this.gw)): Float64Array {
    const { gh, gw, h, w } = this;
    const X = this.#x, Y = this.#y;
    const tmp = this.#tmp.fill(0);
    for (let y = 0; y < h; y++) {
      const a = Y.i0[y] * w, b = Y.i1[y] * w, wa = Y.w0[y], wb = Y.w1[y];
      const o = y * w;
      for (let x = 0; x < w; x++) {
        const g = grad[o + x];
        tmp[a + x] += wa * g;
        tmp[b + x] += wb * g;
      }
    }
    out.fill(0);
    for (let i = 0; i < gh; i++) {
      const r = i * gw;
      for (let x = 0; x < w; x++) {
        const t = tmp[i * w + x];
        out[r + X.i0[x]] += X.w0[x] * t;
        out[r + X.i1[x]] += X.w1[x] * t;
      }
    }
    return out;
  }
}
