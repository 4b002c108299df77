/**
 * Image decoding and model preprocessing: file → the tensor a model card asks for, plus the
 * explanation baseline and the un-normalised pixels that overlays and the bilateral TV term need.
 *
 * The models were trained and evaluated with torchvision on PIL images, so that is the reference:
 * - Geometry is torchvision's `Resize(short) + CenterCrop(crop)`: the short side becomes
 *   `resize_short_side`, the long side `floor(short * long / short_old)`; the crop offset is
 *   Python's `round((size - crop) / 2)` (half to even); a crop larger than the image pads zeros.
 * - Resampling is PIL's `Image.resize` reimplemented (see `resample`), bit-exact on 8-bit images.
 *   sharp's own resize was measured against PIL on the ImageNet sample: within 2 levels when
 *   shrinking, but shifted by half an output pixel when enlarging (mean 6-7, max 91 levels on
 *   images under 256 px), so sharp only decodes.
 * - Decoding (sharp / libvips): EXIF orientation applied (`auto_orient`); embedded ICC profiles
 *   ignored as PIL does, except CMYK, which goes to sRGB through libvips' profile handling; alpha
 *   flattened on black (a transparent pixel becomes black, not its hidden RGB); 16-bit PNGs stay
 *   16-bit until scaled to [0, 1]; greyscale replicated to 3 channels for RGB models; RGB made
 *   grey for 1-channel models with PIL's `convert("L")` (0.299, 0.587, 0.114, integer-rounded).
 * - Measured: on all 300 ImageNet sample images (6 greyscale) the 224 px crops equal PIL 9.4's
 *   bit for bit with bilinear, bicubic and nearest, and as grey (with `auto_orient: false`).
 */
import sharp, { type Metadata, type OutputInfo } from "sharp";
import { type BlurChoice, blurSpec, checkBlur, gaussianBlur } from "./blur.ts";

/**
 * The resize filter, as PIL's: `bilinear` = triangle, `bicubic` = cubic convolution a = -0.5
 * (both widened by the shrink factor when reducing, i.e. antialiased), `nearest` = PIL's nearest
 * (source pixel under the output pixel's centre, no antialiasing).
 */
export type Interpolation = "bilinear" | "bicubic" | "nearest";

const interpolations: readonly Interpolation[] = ["bilinear", "bicubic", "nearest"];

export interface PreprocessOptions {
  /** Channels the model takes: 3 (RGB) or 1 (grey). */
  channels: 1 | 3;
  /** Resize so the short side is this many pixels (aspect kept); null: no resize. */
  resize_short_side: number | null;
  /** Square center crop side in pixels; null: no crop. */
  center_crop: number | null;
  interpolation: Interpolation;
  /**
   * Multiplies 8-bit-equivalent pixel values (0..255; 16-bit inputs are mapped to that range
   * first) before `(v - mean) / std`. 1/255 for the usual [0, 1] models.
   */
  scale: number;
  /** Per channel, in the scaled units. */
  mean: number[];
  std: number[];
  /** `blur`: Gaussian blur of the cropped image, normalised; `zero`: zeros after normalisation. */
  baseline: "blur" | "zero";
  /**
   * The blur: `relative` = the paper's 51 x 51 / sigma 50 scaled to the crop (exactly 51 / 50 at
   * 224 px, see `relativeBlur`), fractions of the image side, or an explicit kernel size and sigma.
   */
  blur: BlurChoice;
  /**
   * Apply the EXIF orientation tag (what a person sees). PIL / torchvision do not, so `false`
   * reproduces their tensors exactly; 1 of the 300 ImageNet sample images carries a rotating tag.
   */
  auto_orient: boolean;
  /** Images whose short side (after orientation) is below this are rejected (**decision**: 8). */
  min_side: number;
}

/** ImageNet models with torchvision's standard evaluation transform and the paper's baseline. */
export const defaults: Readonly<PreprocessOptions> = Object.freeze({
  channels: 3,
  resize_short_side: 256,
  center_crop: 224,
  interpolation: "bilinear",
  scale: 1 / 255,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
  baseline: "blur",
  blur: "relative",
  auto_orient: true,
  min_side: 8,
});

export interface LoadedImage {
  /** CHW, normalised: the model input. */
  image: Float32Array;
  /** CHW, normalised: the baseline B of the same size. */
  baseline: Float32Array;
  /** CHW in [0, 1] before normalisation (the model's channels: grey when channels = 1). */
  rgb01: Float32Array;
  width: number;
  height: number;
  channels: 1 | 3;
  /** Size of the decoded image after EXIF orientation, before resize and crop. */
  original: { width: number; height: number };
}

/** Throws, naming `where` and the key, if the options cannot work. */
export function validateOptions(o: PreprocessOptions, where = "preprocess options"): void {
  const bad = (key: string, why: string): never => {
    throw new Error(`${where}: ${key} ${why}`);
  };
  if (o.channels !== 1 && o.channels !== 3) bad("channels", `must be 1 or 3, got ${o.channels}`);
  for (const key of ["resize_short_side", "center_crop"] as const) {
    const v = o[key];
    if (v !== null && !(Number.isInteger(v) && v > 0)) {
      bad(key, `must be a positive integer or null, got ${v}`);
    }
  }
  if (!interpolations.includes(o.interpolation)) {
    bad("interpolation", `must be bilinear, bicubic or nearest, got ${o.interpolation}`);
  }
  if (!(Number.isFinite(o.scale) && o.scale > 0)) bad("scale", `must be > 0, got ${o.scale}`);
  for (const key of ["mean", "std"] as const) {
    const v = o[key];
    if (!Array.isArray(v) || v.length !== o.channels || !v.every(Number.isFinite)) {
      bad(key, `must be ${o.channels} finite numbers (one per channel), got ${JSON.stringify(v)}`);
    }
  }
  if (o.std.some((s) => s <= 0)) bad("std", `must be > 0, got ${JSON.stringify(o.std)}`);
  if (o.baseline !== "blur" && o.baseline !== "zero") {
    bad("baseline", `must be blur or zero, got ${o.baseline}`);
  }
  try {
    checkBlur(o.blur);
  } catch (e) {
    bad("blur", (e as Error).message);
  }
  if (typeof o.auto_orient !== "boolean") bad("auto_orient", `must be true or false`);
  if (!(Number.isInteger(o.min_side) && o.min_side >= 1)) {
    bad("min_side", `must be a positive integer, got ${o.min_side}`);
  }
}

/**
 * Reads a model card's `preprocess` block (as in ../shared/models/*.json: `color` or `channels`,
 * `resize_short_side`, `center_crop`, `interpolation`, `scale` as a number or "1/255", `mean`,
 * `std`) into options; the rest comes from `base`. Unknown keys are ignored.
 */
export function optionsFromCard(
  preprocess: unknown,
  where: string,
  base: Readonly<PreprocessOptions> = defaults,
): PreprocessOptions {
  if (typeof preprocess !== "object" || preprocess === null || Array.isArray(preprocess)) {
    throw new Error(`${where}: preprocess must be an object`);
  }
  const p = preprocess as Record<string, unknown>;
  const o: PreprocessOptions = { ...base, mean: [...base.mean], std: [...base.std] };
  const bad = (key: string, why: string): never => {
    throw new Error(`${where}: preprocess.${key} ${why}, got ${JSON.stringify(p[key])}`);
  };
  if (p.channels !== undefined) {
    if (p.channels !== 1 && p.channels !== 3) bad("channels", "must be 1 or 3");
    o.channels = p.channels as 1 | 3;
  } else if (p.color !== undefined) {
    const c = String(p.color).trim().toLowerCase();
    if (/^s?rgb\b/.test(c)) o.channels = 3;
    else if (/^(grey|gray|l\b|luminance)/.test(c)) o.channels = 1;
    else bad("color", "must start with RGB or grey");
  }
  for (const key of ["resize_short_side", "center_crop"] as const) {
    if (p[key] === undefined) continue;
    if (p[key] !== null && !(Number.isInteger(p[key]) && (p[key] as number) > 0)) {
      bad(key, "must be a positive integer or null");
    }
    o[key] = p[key] as number | null;
  }
  if (p.interpolation !== undefined) {
    if (!interpolations.includes(p.interpolation as Interpolation)) {
      bad("interpolation", "must be bilinear, bicubic or nearest");
    }
    o.interpolation = p.interpolation as Interpolation;
  }
  if (p.scale !== undefined) {
    if (typeof p.scale === "number") o.scale = p.scale;
    else {
      const m = typeof p.scale === "string"
        ? /^\s*([\d.]+)\s*\/\s*([\d.]+)\s*$/.exec(p.scale)
        : null;
      if (!m) bad("scale", 'must be a number or a fraction like "1/255"');
      o.scale = Number(m![1]) / Number(m![2]);
    }
  }
  for (const key of ["mean", "std"] as const) {
    if (p[key] === undefined) continue;
    if (!Array.isArray(p[key]) || !(p[key] as unknown[]).every((v) => typeof v === "number")) {
      bad(key, "must be an array of numbers");
    }
    o[key] = [...(p[key] as number[])];
  }
  if (p.min_side !== undefined) o.min_side = p.min_side as number;
  if (p.auto_orient !== undefined) o.auto_orient = p.auto_orient as boolean;
  validateOptions(o, `${where}: preprocess`);
  return o;
}

/** A decode failure: the message starts with the file path and says what is wrong. */
function fail(path: string, what: string, cause?: unknown): never {
  throw new Error(`${path}: ${what}`, cause === undefined ? undefined : { cause });
}

/** Decodes, resizes, crops and normalises one image file; every failure names `path`. */
export async function loadImage(
  path: string,
  options: Readonly<PreprocessOptions> = defaults,
): Promise<LoadedImage> {
  validateOptions(options as PreprocessOptions);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) fail(path, "file not found", e);
    if (e instanceof Deno.errors.IsADirectory) fail(path, "is a directory, not an image", e);
    fail(path, `cannot read: ${(e as Error).message}`, e);
  }
  if (bytes.length === 0) fail(path, "empty file (0 bytes), not an image");

  const src = () => sharp(bytes, { failOn: "truncated" });
  let meta: Metadata;
  try {
    meta = await src().metadata();
  } catch (e) {
    fail(path, `not a decodable image: ${describeUndecodable(bytes, e as Error)}`, e);
  }
  const ow = options.auto_orient ? meta.autoOrient?.width ?? meta.width : meta.width;
  const oh = options.auto_orient ? meta.autoOrient?.height ?? meta.height : meta.height;
  if (!ow || !oh) fail(path, `image has no size (format ${meta.format})`);
  if (Math.min(ow, oh) < options.min_side) {
    fail(
      path,
      `image is ${ow}x${oh} px, too small: its short side must be at least ` +
        `${options.min_side} px (min_side)`,
    );
  }

  const bands = meta.channels - (meta.hasAlpha ? 1 : 0);
  const sourceGrey = bands === 1;
  const wide = meta.depth !== "uchar" && meta.depth !== "char";
  const keepGrey = sourceGrey && options.channels === 1;
  const space = keepGrey ? (wide ? "grey16" : "b-w") : (wide ? "rgb16" : "srgb");

  // Embedded ICC profiles are ignored except for CMYK, as PIL / torchvision (what the models were
  // trained with) ignore them; CMYK needs a profile to reach sRGB at all.
  const ignoreIcc = meta.space !== "cmyk";
  let pipeline = sharp(bytes, { failOn: "truncated", ignoreIcc });
  if (options.auto_orient) pipeline = pipeline.rotate();
  if (meta.hasAlpha) pipeline = pipeline.flatten({ background: { r: 0, g: 0, b: 0 } });
  let raw: { data: Uint8Array; info: RawInfo };
  try {
    raw = await pipeline.toColourspace(space).raw({ depth: wide ? "ushort" : "uchar" })
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    fail(path, `corrupt or truncated image data (${(e as Error).message.trim()})`, e);
  }
  const { info } = raw;
  if (info.width !== ow || info.height !== oh) {
    fail(path, `decoder returned ${info.width}x${info.height}, expected ${ow}x${oh}`);
  }
  const ch = options.channels;
  const decoded = toPlanes(raw.data, info, ch, path);
  let [rw, rh] = [ow, oh];
  let resized = decoded.planes;
  if (options.resize_short_side !== null) {
    [rw, rh] = resizedSize(ow, oh, options.resize_short_side);
    resized = resample(resized, ch, oh, ow, rh, rw, options.interpolation, decoded.max === 255);
  }
  const crop = options.center_crop;
  const [w, h] = crop === null ? [rw, rh] : [crop, crop];
  const rgb01 = crop === null ? resized : centerCrop(resized, ch, rh, rw, crop, crop);
  for (let i = 0; i < rgb01.length; i++) rgb01[i] /= decoded.max;
  const image = normalise(rgb01, ch, options);
  let baseline: Float32Array;
  if (options.baseline === "zero") baseline = new Float32Array(image.length);
  else {
    const spec = blurSpec(options.blur, Math.min(w, h));
    baseline = normalise(gaussianBlur(rgb01, ch, h, w, spec.size, spec.sigma), ch, options);
  }
  return {
    image,
    baseline,
    rgb01,
    width: w,
    height: h,
    channels: ch,
    original: { width: ow, height: oh },
  };
}

function describeUndecodable(bytes: Uint8Array, e: Error): string {
  const head = bytes.subarray(0, 64);
  const printable = head.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
  const msg = e.message.trim();
  if (printable) {
    const start = new TextDecoder().decode(head.subarray(0, 24)).replace(/\s+/g, " ");
    return `the file is text (starts "${start}"), not image data (sharp: ${msg})`;
  }
  return `unsupported or corrupt image format (sharp: ${msg})`;
}

/** torchvision `Resize(short)`: the short side becomes `short`, the long side is truncated. */
export function resizedSize(width: number, height: number, short: number): [number, number] {
  if (width <= height) return [short, Math.floor(short * height / width)];
  return [Math.floor(short * width / height), short];
}

/** Python's round() on a multiple of 1/2: halves go to the even neighbour. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  if (v - f !== 0.5) return Math.round(v);
  return f % 2 === 0 ? f : f + 1;
}

/** torchvision `center_crop` offset along one axis (negative: zero padding of that many pixels). */
export function cropOffset(size: number, crop: number): number {
  return crop > size ? -Math.floor((crop - size) / 2) : roundHalfEven((size - crop) / 2);
}

/** Center-crops CHW planes to ch x cw like torchvision (zero padding where the crop is larger). */
export function centerCrop(
  planes: Float32Array,
  channels: number,
  height: number,
  width: number,
  ch: number,
  cw: number,
): Float32Array {
  const top = cropOffset(height, ch), left = cropOffset(width, cw);
  const out = new Float32Array(channels * ch * cw);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < ch; y++) {
      const sy = y + top;
      if (sy < 0 || sy >= height) continue;
      for (let x = 0; x < cw; x++) {
        const sx = x + left;
        if (sx < 0 || sx >= width) continue;
        out[(c * ch + y) * cw + x] = planes[(c * height + sy) * width + sx];
      }
    }
  }
  return out;
}

/** sharp's raw output info; `depth` is there at run time though its type omits it. */
type RawInfo = OutputInfo & { depth?: string };

/**
 * Interleaved raw sharp output (8 or 16 bit) → CHW planes with the model's channels, still in the
 * source's units (0..max): grey is replicated to RGB, and RGB becomes grey like PIL's
 * `convert("L")` (`(19595 R + 38470 G + 7471 B + 0x8000) >> 16` on 8-bit data).
 */
function toPlanes(
  data: Uint8Array,
  info: RawInfo,
  channels: 1 | 3,
  path: string,
): { planes: Float32Array; max: number } {
  const n = info.width * info.height;
  const bands = info.channels;
  let values: ArrayLike<number>, max: number;
  if (info.depth === "uchar") [values, max] = [data, 255];
  else if (info.depth === "ushort") {
    const copy = data.byteOffset % 2 === 0 ? data : data.slice();
    [values, max] = [new Uint16Array(copy.buffer, copy.byteOffset, copy.byteLength / 2), 65535];
  } else fail(path, `unsupported decoded pixel depth ${info.depth}`);
  if (values.length !== n * bands) {
    fail(
      path,
      `decoder returned ${values.length} values for ${info.width}x${info.height}x${bands}`,
    );
  }
  const out = new Float32Array(channels * n);
  if (channels === bands) {
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < bands; c++) out[c * n + i] = values[i * bands + c];
    }
  } else if (channels === 3 && bands === 1) {
    for (let i = 0; i < n; i++) out[i] = out[n + i] = out[2 * n + i] = values[i];
  } else if (channels === 1 && bands === 3) {
    for (let i = 0; i < n; i++) {
      const r = values[3 * i], g = values[3 * i + 1], b = values[3 * i + 2];
      out[i] = max === 255
        ? Math.floor((19595 * r + 38470 * g + 7471 * b + 0x8000) / 65536)
        : 0.299 * r + 0.587 * g + 0.114 * b;
    }
  } else fail(path, `cannot map ${bands} decoded channels to ${channels}`);
  return { planes: out, max };
}

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

/** `(v255 * scale - mean[c]) / std[c]` with v255 = value in [0, 1] times 255. */
function normalise(rgb01: Float32Array, channels: number, o: Readonly<PreprocessOptions>) {
  const n = rgb01.length / channels;
  const out = new Float32Array(rgb01.length);
  const k = 255 * o.scale;
  for (let c = 0; c < channels; c++) {
    const m = o.mean[c], s = o.std[c];
    for (let i = c * n; i < (c + 1) * n; i++) out[i] = (rgb01[i] * k - m) / s;
  }
  return out;
}

export interface LoadImagesOptions {
  /** Images decoded at once (sharp also runs its own thread pool under each). */
  concurrency: number;
}

export const loadDefaults: Readonly<LoadImagesOptions> = { concurrency: 4 };

export interface LoadImagesResult {
  ok: ({ index: number; path: string } & LoadedImage)[];
  /** `error` is the message, which starts with the path. */
  errors: { index: number; path: string; error: string }[];
}

/** Loads many images; one that fails is reported in `errors` and the others go on. */
export async function loadImages(
  paths: readonly string[],
  options: Readonly<PreprocessOptions> = defaults,
  load: Partial<LoadImagesOptions> = {},
): Promise<LoadImagesResult> {
  validateOptions(options as PreprocessOptions);
  const concurrency = load.concurrency ?? loadDefaults.concurrency;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new Error(`loadImages: concurrency must be a positive integer, got ${concurrency}`);
  }
  const ok: LoadImagesResult["ok"] = [];
  const errors: LoadImagesResult["errors"] = [];
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const index = next++;
      const path = paths[index];
      try {
        ok.push({ index, path, ...(await loadImage(path, options)) });
      } catch (e) {
        const msg = (e as Error).message;
        errors.push({ index, path, error: msg.startsWith(path) ? msg : `${path}: ${msg}` });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  ok.sort((a, b) => a.index - b.index);
  errors.sort((a, b) => a.index - b.index);
  return { ok, errors };
}
