/**
 * How the per-image explorer's data stays small inside report.html: tensors as base64 of
 * little-endian typed arrays (saliency as uint8, cell orders and probabilities as uint16), images
 * as PNG data URIs. The stages encode with these; the page's script decodes the same layout.
 */
import { Buffer } from "node:buffer";
import { encode as encodePng } from "fast-png";
import { checkPixelImage, downsample, type PixelImage } from "./tile_image.ts";

/** Probabilities in [0, 1] are stored as round(p * PROB_SCALE) in a uint16. */
export const PROB_SCALE = 65535;

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

function fromBase64(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "base64"));
}

export function encodeU8(values: ArrayLike<number>): string {
  return base64(Uint8Array.from(values));
}

/** uint16, little-endian whatever the host's byte order. */
export function encodeU16(values: ArrayLike<number>): string {
  const bytes = new Uint8Array(values.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setUint16(2 * i, values[i], true);
  return base64(bytes);
}

export function decodeU8(s: string): Uint8Array {
  return fromBase64(s);
}

export function decodeU16(s: string): Uint16Array {
  const bytes = fromBase64(s);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint16Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint16(2 * i, true);
  return out;
}

/** Saliency min-max scaled to 0..255 (a constant map is all 0). */
export function saliencyBytes(values: ArrayLike<number>): Uint8Array {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  const span = hi - lo;
  return Uint8Array.from(
    { length: values.length },
    (_, i) => span > 0 ? Math.round(((values[i] - lo) / span) * 255) : 0,
  );
}

/** Probabilities clamped to [0, 1] and scaled to uint16. */
export function probWords(values: ArrayLike<number>): Uint16Array {
  return Uint16Array.from(
    { length: values.length },
    (_, i) => Math.round(Math.min(1, Math.max(0, values[i])) * PROB_SCALE),
  );
}

/**
 * Planar CHW floats in [0, 1] (the store's layout) as a row-major interleaved 0..255 image,
 * box-downsampled to at most `maxSide` pixels a side.
 */
export function planarToPixels(
  planes: ArrayLike<number>,
  channels: 1 | 3,
  height: number,
  width: number,
  maxSide: number,
): PixelImage {
  const n = height * width;
  const pixels = new Array<number>(n * channels);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < channels; c++) {
      pixels[p * channels + c] = Math.round(Math.min(1, Math.max(0, planes[c * n + p])) * 255);
    }
  }
  return downsample(
    checkPixelImage({ width, height, channels, pixels }, "explorer image"),
    maxSide,
  );
}

/** A pixel image as a `data:image/png;base64,...` URI. */
export function pngDataUri(img: PixelImage): string {
  const png = encodePng({
    width: img.width,
    height: img.height,
    data: Uint8Array.from(img.pixels),
    channels: img.channels,
    depth: 8,
  });
  return `data:image/png;base64,${base64(png)}`;
}
