/** Heatmap overlays as PNG: the image in grey under a colour-mapped heatmap, scaled up to be seen. */
import sharp from "sharp";
import { Upsampler } from "../explain/upsample.ts";

/** A perceptually ordered blue → yellow → red map for t in [0, 1]. */
export function heatColour(t: number): [number, number, number] {
  const x = Math.max(0, Math.min(1, t));
  const stops: [number, number, number][] = [[48, 18, 59], [40, 120, 230], [40, 200, 140], [
    240,
    220,
    50,
  ], [220, 40, 20]];
  const f = x * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(f)), u = f - i;
  const [a, b] = [stops[i], stops[i + 1]];
  return [a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u, a[2] + (b[2] - a[2]) * u];
}

/**
 * RGB bytes of `rgb01` ([c, h, w], c = 1 or 3, values in [0, 1]) blended with `heatmap`
 * (s x s, min-max scaled), at the image's size.
 */
export function overlayPixels(
  rgb01: Float32Array,
  c: number,
  h: number,
  w: number,
  heatmap: Float32Array,
  s: number,
  alpha = 0.5,
): Uint8Array {
  const u = new Upsampler(s, s, h, w, "bilinear").apply(heatmap);
  let lo = Infinity, hi = -Infinity;
  for (const v of heatmap) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const span = hi > lo ? hi - lo : 1;
  const out = new Uint8Array(h * w * 3);
  for (let p = 0; p < h * w; p++) {
    const grey = c === 3 ? (rgb01[p] + rgb01[h * w + p] + rgb01[2 * h * w + p]) / 3 : rgb01[p];
    const col = heatColour((u[p] - lo) / span);
    for (let k = 0; k < 3; k++) {
      out[p * 3 + k] = Math.round((1 - alpha) * grey * 255 + alpha * col[k]);
    }
  }
  return out;
}

export async function overlayPng(
  rgb01: Float32Array,
  c: number,
  h: number,
  w: number,
  heatmap: Float32Array,
  s: number,
  minSide = 112,
): Promise<Uint8Array> {
  const px = overlayPixels(rgb01, c, h, w, heatmap, s);
  const scale = Math.max(1, Math.ceil(minSide / Math.min(h, w)));
  const png = await sharp(px, { raw: { width: w, height: h, channels: 3 } })
    .resize(w * scale, h * scale, { kernel: "nearest" })
    .png({ compressionLevel: 9 })
    .toBuffer();
  return new Uint8Array(png);
}
