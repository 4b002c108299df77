/**
 * Small images for figure tiles. Figures draw an image as one rect per pixel (portable to SVG, PNG and
 * every browser), so images are box-downsampled to a few dozen pixels a side first.
 */
import sharp from "sharp";
import type { TileImage } from "./input.ts";

export interface PixelImage {
  width: number;
  height: number;
  channels: 1 | 3;
  /** Row-major, interleaved, 0..255. */
  pixels: ArrayLike<number>;
}

/** Checks the shape of an inline pixel image; `where` names the input key in the error. */
export function checkPixelImage(img: PixelImage, where: string): PixelImage {
  const { width, height, channels, pixels } = img;
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new Error(`${where}: width and height must be positive integers`);
  }
  if (channels !== 1 && channels !== 3) throw new Error(`${where}: channels must be 1 or 3`);
  if (pixels.length !== width * height * channels) {
    throw new Error(
      `${where}: ${pixels.length} pixel values, expected ${width}x${height}x${channels}`,
    );
  }
  return img;
}

/** Box-average downsampling so that the longer side is at most `maxSide` (never upsamples). */
export function downsample(img: PixelImage, maxSide: number): PixelImage {
  const scale = Math.max(img.width, img.height) / maxSide;
  if (scale <= 1) return img;
  const w = Math.max(1, Math.round(img.width / scale));
  const h = Math.max(1, Math.round(img.height / scale));
  const c = img.channels;
  const out = new Array<number>(w * h * c).fill(0);
  for (let y = 0; y < h; y++) {
    const y0 = Math.floor((y * img.height) / h);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * img.height) / h));
    for (let x = 0; x < w; x++) {
      const x0 = Math.floor((x * img.width) / w);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * img.width) / w));
      for (let k = 0; k < c; k++) {
        let s = 0;
        for (let yy = y0; yy < y1; yy++) {
          for (let xx = x0; xx < x1; xx++) s += img.pixels[(yy * img.width + xx) * c + k];
        }
        out[(y * w + x) * c + k] = Math.round(s / ((y1 - y0) * (x1 - x0)));
      }
    }
  }
  return { width: w, height: h, channels: c, pixels: out };
}

const hex2 = (v: number) => Math.max(0, Math.min(255, Math.round(v))).toString(16).padStart(2, "0");

/** The CSS colour of pixel `i`; `grey` converts RGB to luma (so heatmap colours stand out). */
export function pixelColor(img: PixelImage, i: number, grey = false): string {
  if (img.channels === 1) {
    const g = hex2(img.pixels[i]);
    return `#${g}${g}${g}`;
  }
  const r = img.pixels[i * 3];
  const g = img.pixels[i * 3 + 1];
  const b = img.pixels[i * 3 + 2];
  if (grey) {
    const l = hex2(0.299 * r + 0.587 * g + 0.114 * b);
    return `#${l}${l}${l}`;
  }
  return `#${hex2(r)}${hex2(g)}${hex2(b)}`;
}

/** Resolves a `TileImage` (inline pixels or a file read with sharp) to at most `maxSide` pixels. */
export async function loadTileImage(
  img: TileImage,
  maxSide: number,
  where: string,
): Promise<PixelImage> {
  if ("path" in img) {
    let data: Uint8Array;
    let info: { width: number; height: number; channels: number };
    try {
      const r = await sharp(img.path)
        .removeAlpha()
        .resize(maxSide, maxSide, { fit: "inside", withoutEnlargement: true })
        .raw()
        .toBuffer({ resolveWithObject: true });
      data = r.data;
      info = r.info;
    } catch (e) {
      throw new Error(`${where}: cannot read image ${img.path}: ${(e as Error).message}`);
    }
    return checkPixelImage(
      { width: info.width, height: info.height, channels: info.channels as 1 | 3, pixels: data },
      where,
    );
  }
  return downsample(checkPixelImage(img, where), maxSide);
}
