/** Reading a preprocess chunk's tensors back for a model's unit. */
import type { UnitIO, UnitRef } from "../../pipeline/stage.ts";
import { decodeNpy } from "../../runtime/npy.ts";
import type { PreprocessItem } from "../preprocess.ts";

export interface ChunkTensors {
  items: PreprocessItem[];
  /** [n, C, H, W] flattened, normalised. */
  images: Float32Array;
  baselines: Float32Array;
  rgb01: Float32Array;
  shape: [number, number, number];
}

export async function readChunk(io: UnitIO, ref: UnitRef, withRgb = false): Promise<ChunkTensors> {
  const { items } = await io.readInputJson<{ items: PreprocessItem[] }>(ref, "items.json");
  if (items.length === 0) {
    return {
      items,
      images: new Float32Array(),
      baselines: new Float32Array(),
      rgb01: new Float32Array(),
      shape: [0, 0, 0],
    };
  }
  const load = async (f: string) => {
    const a = decodeNpy(await io.readInput(ref, f), io.inputPath(ref, f));
    return { data: a.data as Float32Array, shape: a.shape };
  };
  const images = await load("images.npy");
  const baselines = await load("baselines.npy");
  const rgb01 = withRgb ? (await load("rgb01.npy")).data : new Float32Array();
  const [, c, h, w] = images.shape;
  return { items, images: images.data, baselines: baselines.data, rgb01, shape: [c, h, w] };
}

/** Concatenates chunks (in order) into one set of tensors. */
export function concatChunks(chunks: ChunkTensors[]): ChunkTensors {
  const nonEmpty = chunks.filter((c) => c.items.length > 0);
  const shape = nonEmpty[0]?.shape ?? [0, 0, 0];
  const cat = (k: "images" | "baselines" | "rgb01") => {
    const out = new Float32Array(nonEmpty.reduce((a, c) => a + c[k].length, 0));
    let o = 0;
    for (const c of nonEmpty) {
      out.set(c[k], o);
      o += c[k].length;
    }
    return out;
  };
  return {
    items: nonEmpty.flatMap((c) => c.items),
    images: cat("images"),
    baselines: cat("baselines"),
    rgb01: cat("rgb01"),
    shape,
  };
}
