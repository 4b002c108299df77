/**
 * OpenCV-equivalent Gaussian blur, the paper's baseline (`cv2.GaussianBlur(img, (51, 51), 50)`).
 *
 * Written out by hand because sharp's `blur(sigma)` picks its own, much wider kernel size and
 * border rule: substituting it would silently change every explanation. This follows OpenCV's
 * float path exactly: `getGaussianKernel` (cut at the kernel radius, renormalised to sum 1), a
 * separable pass over rows then columns, and BORDER_REFLECT_101 (`gfedcb|abcdefgh|gfedcba`).
 * (OpenCV's 8-bit path rounds through fixed point; we blur floats in [0, 1], so results differ from
 * a uint8 OpenCV run by at most that rounding.)
 */

/** A Gaussian blur: odd kernel size (pixels) and sigma (pixels). */
export interface BlurSpec {
  size: number;
  sigma: number;
}

/** The paper's blur at its 224 px input: 51 x 51, sigma 50. */
export const paperBlur: Readonly<BlurSpec> = { size: 51, sigma: 50 };

/**
 * The 1-D kernel of OpenCV's `getGaussianKernel(size, sigma)`: `exp(-(i - (size-1)/2)^2 / 2σ²)`
 * for i in [0, size), divided by its sum. A sigma ≤ 0 takes OpenCV's defaults: its fixed binomial
 * tables for size ≤ 7, else sigma = `0.3 * ((size - 1) * 0.5 - 1) + 0.8`.
 */
export function gaussianKernel(size: number, sigma: number): Float64Array {
  if (!Number.isInteger(size) || size < 1 || size % 2 === 0) {
    throw new Error(`gaussianKernel: size must be a positive odd integer, got ${size}`);
  }
  if (!Number.isFinite(sigma)) {
    throw new Error(`gaussianKernel: sigma must be finite, got ${sigma}`);
  }
  if (sigma <= 0 && size <= 7) return Float64Array.from(smallKernels[(size - 1) / 2]);
  const s = sigma > 0 ? sigma : 0.3 * ((size - 1) * 0.5 - 1) + 0.8;
  const k = new Float64Array(size);
  const c = (size - 1) / 2;
  const scale = -0.5 / (s * s);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const x = i - c;
    k[i] = Math.exp(scale * x * x);
    sum += k[i];
  }
  for (let i = 0; i < size; i++) k[i] /= sum;
  return k;
}

/** OpenCV's `small_gaussian_tab`, used when sigma ≤ 0 and size ≤ 7. */
const smallKernels: readonly (readonly number[])[] = [
  [1],
  [0.25, 0.5, 0.25],
  [0.0625, 0.25, 0.375, 0.25, 0.0625],
  [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125],
];

/**
 * OpenCV's `borderInterpolate` for BORDER_REFLECT_101: maps any index to [0, len), reflecting
 * about the edge pixels without repeating them (-1 → 1, len → len - 2), repeatedly when the
 * kernel is wider than the image.
 */
export function reflect101(p: number, len: number): number {
  if (len === 1) return 0;
  while (p < 0 || p >= len) {
    p = p < 0 ? -p : 2 * (len - 1) - p;
  }
  return p;
}

/**
 * Blurs planar (CHW) float data with a `size` x `size` Gaussian of the given sigma, each channel
 * independently, separable (horizontal then vertical), BORDER_REFLECT_101. Returns a new array.
 */
export function gaussianBlur(
  planes: Float32Array,
  channels: number,
  height: number,
  width: number,
  size: number,
  sigma: number,
): Float32Array {
  const plane = height * width;
  if (planes.length !== channels * plane) {
    throw new Error(
      `gaussianBlur: expected ${channels}x${height}x${width} = ${
        channels * plane
      } values, got ${planes.length}`,
    );
  }
  const k = gaussianKernel(size, sigma);
  const r = (size - 1) / 2;
  // Precomputed source indices for every output position and tap, per axis.
  const xIdx = borderTable(width, r);
  const yIdx = borderTable(height, r);
  const out = new Float32Array(planes.length);
  const tmp = new Float64Array(plane);
  for (let c = 0; c < channels; c++) {
    const base = c * plane;
    for (let y = 0; y < height; y++) {
      const row = base + y * width;
      for (let x = 0; x < width; x++) {
        const t = x * size;
        let acc = 0;
        for (let i = 0; i < size; i++) acc += k[i] * planes[row + xIdx[t + i]];
        tmp[y * width + x] = acc;
      }
    }
    for (let y = 0; y < height; y++) {
      const t = y * size;
      for (let x = 0; x < width; x++) {
        let acc = 0;
        for (let i = 0; i < size; i++) acc += k[i] * tmp[yIdx[t + i] * width + x];
        out[base + y * width + x] = acc;
      }
    }
  }
  return out;
}

function borderTable(len: number, r: number): Int32Array {
  const size = 2 * r + 1;
  const t = new Int32Array(len * size);
  for (let p = 0; p < len; p++) {
    for (let i = 0; i < size; i++) t[p * size + i] = reflect101(p + i - r, len);
  }
  return t;
}

/**
 * The paper's 51 x 51 / sigma 50 blur scaled to another input size: kernel size = the odd integer
 * nearest to 51·crop/224 (at least 3), sigma = 50·crop/224. At 224 px it is exactly the paper's.
 */
export function relativeBlur(cropSize: number): BlurSpec {
  if (!Number.isFinite(cropSize) || cropSize <= 0) {
    throw new Error(`relativeBlur: crop size must be a positive number, got ${cropSize}`);
  }
  const f = cropSize / 224;
  return { size: oddSize(paperBlur.size * f), sigma: paperBlur.sigma * f };
}

/** The odd integer nearest to `target`, at least 3. */
function oddSize(target: number): number {
  return Math.max(3, 2 * Math.round((target - 1) / 2) + 1);
}

/**
 * A blur chosen as fractions of the image side, so one setting means the same at any input size.
 * The paper's is 51/224 and 50/224; on 28 px Fashion-MNIST that keeps the silhouette and with it
 * the class, so the zoo's config picks its own (bench/baseline_regime.ts measures the choice).
 */
export interface BlurFractions {
  /** Kernel size / image side; the kernel is the nearest odd size, at least 3 px. */
  kernelFraction: number;
  /** Sigma / image side. */
  sigmaFraction: number;
}

/** A blur of `fractions` of the image side at `side` px (kernel wider than the image reflects). */
export function fractionalBlur(side: number, fractions: BlurFractions): BlurSpec {
  checkFractions(fractions);
  if (!Number.isFinite(side) || side <= 0) {
    throw new Error(`fractionalBlur: side must be a positive number, got ${side}`);
  }
  return {
    size: oddSize(fractions.kernelFraction * side),
    sigma: fractions.sigmaFraction * side,
  };
}

function checkFractions(f: BlurFractions): void {
  for (const key of ["kernelFraction", "sigmaFraction"] as const) {
    if (!(Number.isFinite(f[key]) && f[key] > 0)) {
      throw new Error(`${key} must be a positive number, got ${f[key]}`);
    }
  }
}

/**
 * How an image's blur is given: `relative` (the paper's, scaled: `relativeBlur`), fractions of the
 * side (`fractionalBlur`), or an explicit kernel size and sigma in pixels.
 */
export type BlurChoice = "relative" | BlurFractions | BlurSpec;

/** Throws, saying why, if `blur` cannot make a kernel. */
export function checkBlur(blur: BlurChoice): void {
  if (blur === "relative") return;
  if (typeof blur !== "object" || blur === null) {
    throw new Error(
      `must be "relative", { kernelFraction, sigmaFraction } or { size, sigma }, got ${
        JSON.stringify(blur)
      }`,
    );
  }
  if ("kernelFraction" in blur) checkFractions(blur);
  else gaussianKernel(blur.size, blur.sigma);
}

/** The kernel size and sigma in pixels of `blur` on an image whose short side is `side`. */
export function blurSpec(blur: BlurChoice, side: number): BlurSpec {
  if (blur === "relative") return relativeBlur(side);
  return "kernelFraction" in blur ? fractionalBlur(side, blur) : blur;
}
