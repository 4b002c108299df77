/**
 * PIL's `Image.resize` reimplemented, bit-exact on 8-bit images: the models were trained and
 * evaluated on PIL images, and sharp's own resize was measured against PIL on the ImageNet sample
 * (within 2 levels when shrinking, but shifted by half an output pixel when enlarging: mean 6-7,
 * max 91 levels on images under 256 px), so sharp only decodes and this resizes.
 */

/**
 * The resize filter, as PIL's: `bilinear` = triangle, `bicubic` = cubic convolution a = -0.5
 * (both widened by the shrink factor when reducing, i.e. antialiased), `nearest` = PIL's nearest
 * (source pixel under the output pixel's centre, no antialiasing).
 */
export type Interpolation = "bilinear" | "bicubic" | "nearest";

export const interpolations: readonly Interpolation[] = ["bilinear", "bicubic", "nearest"];

/** PIL's filters (Resample.c): support radius at scale 1, and the kernel. */
const filters: Record<"bilinear" | "bicubic", { support: number; f: (x: number) => number }> = {
  bilinear: {
    support: 1,
    f: (x) => {
      x = Math.abs(x);
      return x < 1 ? 1 - x : 0;
    },
  },
  bicubic: {
    support: 2,
    f: (x) => {
      const a = -0.5;
      x = Math.abs(x);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
};

/** PIL's fixed-point precision for 8-bit resampling. */
const PRECISION_BITS = 32 - 8 - 2;

/**
 * PIL's `precompute_coeffs`: for each output index, the first source index, the tap count and
 * the normalised weights (a row of `ksize`), plus their fixed-point form when `fixed`.
 */
function coefficients(inSize: number, outSize: number, filter: typeof filters.bilinear) {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize), count = new Int32Array(outSize);
  const k = new Float64Array(outSize * ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.f((x + xmin - center + 0.5) / filterscale);
      k[xx * ksize + x] = w;
      ww += w;
    }
    if (ww !== 0) { for (let x = 0; x < xmax; x++) k[xx * ksize + x] /= ww; }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  const one = 2 ** PRECISION_BITS;
  const fixed = Float64Array.from(
    k,
    (v) => v < 0 ? Math.trunc(-0.5 + v * one) : Math.trunc(0.5 + v * one),
  );
  return { ksize, start, count, k, fixed };
}

/** One separable pass along x (`horizontal`) or y, PIL's 8-bit rounding when `exact8`. */
function pass(
  src: Float32Array,
  channels: number,
  h: number,
  w: number,
  outLen: number,
  horizontal: boolean,
  filter: typeof filters.bilinear,
  exact8: boolean,
): Float32Array {
  const inLen = horizontal ? w : h;
  const { ksize, start, count, k, fixed } = coefficients(inLen, outLen, filter);
  const [oh, ow] = horizontal ? [h, outLen] : [outLen, w];
  const out = new Float32Array(channels * oh * ow);
  const stride = horizontal ? 1 : w; // step between taps in the source
  const half = 2 ** (PRECISION_BITS - 1), one = 2 ** PRECISION_BITS;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const o = horizontal ? x : y;
        const base = c * h * w + (horizontal ? y * w + start[o] : start[o] * w + x);
        const row = o * ksize;
        let acc = exact8 ? half : 0;
        const kk = exact8 ? fixed : k;
        for (let i = 0; i < count[o]; i++) acc += src[base + i * stride] * kk[row + i];
        out[(c * oh + y) * ow + x] = exact8
          ? (acc <= 0 ? 0 : acc >= one * 256 ? 255 : Math.floor(acc / one))
          : acc;
      }
    }
  }
  return out;
}

/**
 * PIL's `Image.resize(size, filter)` on CHW planes (values in the source's units): horizontal pass
 * then vertical, each only if that side changes. `exact8`: 8-bit data, reproduced bit for bit
 * (fixed-point weights, rounding and clipping to 0..255 after each pass, as PIL); otherwise float.
 * `nearest` takes the source pixel under each output centre (PIL's `ImagingScaleAffine`).
 */
export function resample(
  planes: Float32Array,
  channels: number,
  h: number,
  w: number,
  oh: number,
  ow: number,
  interpolation: Interpolation,
  exact8: boolean,
): Float32Array {
  if (oh === h && ow === w) return planes;
  if (interpolation === "nearest") {
    const xs = nearestIndex(w, ow), ys = nearestIndex(h, oh);
    const out = new Float32Array(channels * oh * ow);
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < oh; y++) {
        for (let x = 0; x < ow; x++) {
          out[(c * oh + y) * ow + x] = planes[(c * h + ys[y]) * w + xs[x]];
        }
      }
    }
    return out;
  }
  const f = filters[interpolation];
  let cur = planes, cw = w;
  if (ow !== w) {
    cur = pass(cur, channels, h, w, ow, true, f, exact8);
    cw = ow;
  }
  if (oh !== h) cur = pass(cur, channels, h, cw, oh, false, f, exact8);
  return cur;
}

/** PIL's nearest mapping: the centre walks in steps of in/out from half a step; truncated. */
function nearestIndex(inSize: number, outSize: number): Int32Array {
  const step = inSize / outSize;
  const idx = new Int32Array(outSize);
  let pos = step * 0.5;
  for (let i = 0; i < outSize; i++) {
    idx[i] = Math.min(Math.trunc(pos), inSize - 1);
    pos += step;
  }
  return idx;
}
