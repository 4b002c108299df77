/**
 * The last block's tensor as a model card describes it (`last_block_tensor`, `last_block_layout`,
 * `last_block_shape`), and each channel's maximum under that layout: Fig. 5's activations
 * (docs/METHODS.md §6). The layout is read, never guessed from a rank-4 shape, because
 * channels-last networks (Swin) give [N, 7, 7, 768], which an NCHW reading takes for 7 channels.
 */

/** Where the channels are: NCHW / NHWC feature maps, NTD token sequences, NC vectors. */
export type BlockLayout = "NCHW" | "NHWC" | "NTD" | "NC";

/** Each layout's rank and the axis holding its channels. */
const LAYOUTS: Record<BlockLayout, { rank: number; channelAxis: number }> = {
  NCHW: { rank: 4, channelAxis: 1 },
  NHWC: { rank: 4, channelAxis: 3 },
  NTD: { rank: 3, channelAxis: 2 },
  NC: { rank: 2, channelAxis: 1 },
};

/** The layout a card without `last_block_layout` gets, by the tensor's rank. */
const BY_RANK: Record<number, BlockLayout> = { 4: "NCHW", 3: "NTD", 2: "NC" };

export interface LastBlock {
  /** Name of the intermediate tensor in the ONNX graph. */
  tensor: string;
  /** As the card states it; null: the card has none, and the rank decides (NCHW for rank 4). */
  layout: BlockLayout | null;
  /** Dimensions after the batch, when the card states them; checked against the model's. */
  shape: number[] | null;
}

function isLayout(v: unknown): v is BlockLayout {
  return typeof v === "string" && Object.hasOwn(LAYOUTS, v);
}

/**
 * The card's last block, or null when it names no tensor. `at` (the card's path) prefixes
 * every error.
 */
export function lastBlockFromCard(
  card: Record<string, unknown> | null,
  at: string,
): LastBlock | null {
  const tensor = card?.last_block_tensor;
  if (tensor === undefined || tensor === null) return null;
  if (typeof tensor !== "string" || !tensor) {
    throw new Error(`${at}: last_block_tensor: expected a tensor name`);
  }
  const raw = card!.last_block_layout;
  let layout: BlockLayout | null = null;
  if (isLayout(raw)) layout = raw;
  else if (typeof raw === "string" && /^[A-Z]+\s*\[/.test(raw)) {
    // The free text earlier exports wrote ("NCHW [N,7,7,768]"): NCHW for every rank-4 tensor,
    // channels-last Swin included, so it cannot be trusted.
    throw new Error(
      `${at}: last_block_layout "${raw}" is the old free-text form, which said NCHW for ` +
        `channels-last tensors too; write one of ${
          Object.keys(LAYOUTS).join(", ")
        } (and last_block_shape), or re-export with tools/export/export_timm.py`,
    );
  } else if (raw !== undefined && raw !== null) {
    throw new Error(
      `${at}: last_block_layout: expected one of ${Object.keys(LAYOUTS).join(", ")}`,
    );
  }
  const rawShape = card!.last_block_shape;
  let shape: number[] | null = null;
  if (rawShape !== undefined && rawShape !== null) {
    const dims = Array.isArray(rawShape) ? rawShape.slice(1) : [];
    if (
      !Array.isArray(rawShape) || dims.length === 0 ||
      !dims.every((d) => Number.isInteger(d) && d > 0)
    ) {
      throw new Error(
        `${at}: last_block_shape: expected ["batch", d1, ...] with positive integer dimensions`,
      );
    }
    shape = dims as number[];
    if (layout && LAYOUTS[layout].rank !== shape.length + 1) {
      throw new Error(
        `${at}: last_block_shape has rank ${shape.length + 1}, layout ${layout} rank ${
          LAYOUTS[layout].rank
        }`,
      );
    }
  }
  return { tensor, layout, shape };
}

/** The layout to read a tensor of these dimensions with, or an error naming the mismatch. */
export function layoutOf(block: LastBlock, dims: readonly number[], at: string): BlockLayout {
  const layout = block.layout ?? BY_RANK[dims.length];
  if (!layout) {
    throw new Error(
      `${at}: tensor ${block.tensor} has rank ${dims.length} [${dims}]; Fig. 5 reads ranks 2 to 4`,
    );
  }
  if (LAYOUTS[layout].rank !== dims.length) {
    throw new Error(
      `${at}: tensor ${block.tensor} has rank ${dims.length} [${dims}], but the card's ` +
        `last_block_layout ${layout} has rank ${LAYOUTS[layout].rank}`,
    );
  }
  if (block.shape && block.shape.some((d, k) => d !== dims[k + 1])) {
    throw new Error(
      `${at}: tensor ${block.tensor} is [N,${dims.slice(1)}], but the card's last_block_shape ` +
        `says [N,${block.shape}]`,
    );
  }
  return layout;
}

/**
 * Per image, each channel's maximum over all positions (pixels or tokens): [n, channels].
 * NCHW holds each channel's positions together; NHWC and NTD interleave channels (position-major).
 */
export function channelMaxima(
  data: Float32Array,
  dims: readonly number[],
  layout: BlockLayout,
): Float32Array {
  if (LAYOUTS[layout].rank !== dims.length) {
    throw new Error(`channel maxima: layout ${layout} for a tensor of rank ${dims.length}`);
  }
  if (layout === "NC") return data.slice();
  const n = dims[0];
  const c = dims[LAYOUTS[layout].channelAxis];
  const positions = dims.slice(1).reduce((a, b) => a * b, 1) / c;
  const out = new Float32Array(n * c).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    const base = i * c * positions;
    for (let ch = 0; ch < c; ch++) {
      let mx = -Infinity;
      if (layout === "NCHW") {
        const o = base + ch * positions;
        for (let p = 0; p < positions; p++) if (data[o + p] > mx) mx = data[o + p];
      } else {
        for (let p = 0; p < positions; p++) {
          const v = data[base + p * c + ch];
          if (v > mx) mx = v;
        }
      }
      out[i * c + ch] = mx;
    }
  }
  return out;
}
