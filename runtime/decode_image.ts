/**
 * Image files decoded with sharp (libvips) as PIL decodes them for torchvision, the models'
 * reference: EXIF orientation applied (`auto_orient`); embedded ICC profiles ignored as PIL does,
 * except CMYK, which goes to sRGB through libvips' profile handling; alpha flattened on black (a
 * transparent pixel becomes black, not its hidden RGB); 16-bit PNGs stay 16-bit; greyscale
 * replicated to 3 channels for RGB models; RGB made grey for 1-channel models with PIL's
 * `convert("L")` (0.299, 0.587, 0.114, integer-rounded).
 */
import sharp, { type Metadata, type OutputInfo } from "sharp";

/** How to decode: the preprocessing options that concern the decoder. */
export interface DecodeOptions {
  /** Channels the model takes: 3 (RGB) or 1 (grey). */
  channels: 1 | 3;
  /** Apply the EXIF orientation tag. */
  auto_orient: boolean;
  /** Images whose short side (after orientation) is below this are rejected. */
  min_side: number;
}

/** A decoded image: CHW planes with the model's channels, in the source's units (0..max). */
export interface DecodedImage {
  planes: Float32Array;
  /** 255 for 8-bit sources, 65535 for 16-bit ones. */
  max: number;
  /** Size after EXIF orientation. */
  width: number;
  height: number;
}

/** A decode failure: the message starts with the file path and says what is wrong. */
function fail(path: string, what: string, cause?: unknown): never {
  throw new Error(`${path}: ${what}`, cause === undefined ? undefined : { cause });
}

/** Reads and decodes one image file; every failure names `path` and says what is wrong. */
export async function decodeImage(path: string, o: Readonly<DecodeOptions>): Promise<DecodedImage> {
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
  const ow = o.auto_orient ? meta.autoOrient?.width ?? meta.width : meta.width;
  const oh = o.auto_orient ? meta.autoOrient?.height ?? meta.height : meta.height;
  if (!ow || !oh) fail(path, `image has no size (format ${meta.format})`);
  if (Math.min(ow, oh) < o.min_side) {
    fail(
      path,
      `image is ${ow}x${oh} px, too small: its short side must be at least ` +
        `${o.min_side} px (min_side)`,
    );
  }

  const bands = meta.channels - (meta.hasAlpha ? 1 : 0);
  const sourceGrey = bands === 1;
  const wide = meta.depth !== "uchar" && meta.depth !== "char";
  const keepGrey = sourceGrey && o.channels === 1;
  const space = keepGrey ? (wide ? "grey16" : "b-w") : (wide ? "rgb16" : "srgb");

  // Embedded ICC profiles are ignored except for CMYK, as PIL / torchvision (what the models were
  // trained with) ignore them; CMYK needs a profile to reach sRGB at all.
  const ignoreIcc = meta.space !== "cmyk";
  let pipeline = sharp(bytes, { failOn: "truncated", ignoreIcc });
  if (o.auto_orient) pipeline = pipeline.rotate();
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
  const { planes, max } = toPlanes(raw.data, info, o.channels, path);
  return { planes, max, width: ow, height: oh };
}

/**
 * Why `bytes` do not decode. A text file is said to be text, never quoted: the path may lead (a
 * labels row, a symlink) to a file whose contents must not reach logs or reports.
 */
function describeUndecodable(bytes: Uint8Array, e: Error): string {
  const head = bytes.subarray(0, 64);
  const printable = head.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127));
  if (printable) return "the file is text, not image data";
  return `unsupported or corrupt image format (sharp: ${e.message.trim()})`;
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
