/**
 * The explorer's images: the first images of one preprocessing group, as small PNGs of the crop
 * the models see and of its baseline B (de-normalised back to pixels), which is what a hidden
 * patch shows the model.
 */
import type { UnitIO, UnitRef } from "../../pipeline/stage.ts";
import { decodeNpy } from "../../runtime/npy.ts";
import type { PreprocessOptions } from "../../runtime/preprocess_options.ts";
import type { ExplorerImage } from "../../report/input.ts";
import { planarToPixels, pngDataUri } from "../../report/explorer_codec.ts";
import type { PreprocessItem } from "../preprocess.ts";

export interface ExplorerImageOptions {
  /** Images to show, the first of the group in dataset order. */
  images: number;
  /** Longest side of the PNGs in pixels (larger crops are box-downsampled). */
  side: number;
}

/** Reads `chunks` of one preprocessing group in order until `images` images are collected. */
export async function readExplorerImages(
  io: UnitIO,
  chunks: UnitRef[],
  preprocess: Pick<PreprocessOptions, "scale" | "mean" | "std">,
  classNames: string[] | null,
  o: ExplorerImageOptions,
): Promise<ExplorerImage[]> {
  const out: ExplorerImage[] = [];
  for (const ref of chunks) {
    if (out.length >= o.images) break;
    const { items } = await io.readInputJson<{ items: PreprocessItem[] }>(ref, "items.json");
    if (!items.length) continue;
    const rgb = decodeNpy(await io.readInput(ref, "rgb01.npy"));
    const base = decodeNpy(await io.readInput(ref, "baselines.npy")).data as Float32Array;
    const [, c, h, w] = rgb.shape;
    const size = c * h * w;
    const k255 = 255 * preprocess.scale;
    for (let k = 0; k < items.length && out.length < o.images; k++) {
      const it = items[k];
      const planes = (rgb.data as Float32Array).subarray(k * size, (k + 1) * size);
      const b = base.subarray(k * size, (k + 1) * size);
      const b01 = new Float32Array(size);
      for (let i = 0; i < size; i++) {
        const ch = Math.floor(i / (h * w));
        b01[i] = (b[i] * preprocess.std[ch] + preprocess.mean[ch]) / k255;
      }
      const img = planarToPixels(planes, c as 1 | 3, h, w, o.side);
      out.push({
        id: it.id,
        label: it.label,
        class_label: it.label !== null && classNames ? classNames[it.label] : undefined,
        width: img.width,
        height: img.height,
        image: pngDataUri(img),
        baseline: pngDataUri(planarToPixels(b01, c as 1 | 3, h, w, o.side)),
      });
    }
  }
  return out;
}
