/**
 * A coalescing Scorer over a chunk's images for one model, with the config's providers and batch
 * size. The tuned batch size of each model is remembered, so "auto" measures once per process.
 */
import type { Config } from "../../configs/schema.ts";
import type { Scorer } from "../../explain/scorer.ts";
import type { UpsampleMode } from "../../explain/upsample.ts";
import type { ModelSpec } from "../../runtime/registry.ts";
import { OnnxScorer, type ScorerStats } from "../../runtime/onnx_scorer.ts";
import { sessionOptions } from "./session_options.ts";
import type { ChunkTensors } from "./tensors.ts";

const tunedBatch = new Map<string, number>();

export interface OpenScorer {
  scorer: Scorer;
  stats(): ScorerStats;
  close(): Promise<void>;
}

export async function openScorer(
  m: ModelSpec,
  chunk: ChunkTensors,
  config: Config,
  mode: UpsampleMode,
  /** Mask sides the callers will use, when known (see ScorerOptions.maskSides). */
  maskSides?: number[],
): Promise<OpenScorer> {
  const s = await createScorer(m, chunk, config, mode, maskSides);
  return { scorer: s, stats: () => s.stats(), close: () => s.release() };
}

/** The chunk's images and baselines, one view each. */
export function chunkImages(
  chunk: ChunkTensors,
): { images: Float32Array[]; baselines: Float32Array[] } {
  const size = chunk.shape[0] * chunk.shape[1] * chunk.shape[2];
  const n = chunk.items.length;
  return {
    images: Array.from({ length: n }, (_, k) => chunk.images.subarray(k * size, (k + 1) * size)),
    baselines: Array.from(
      { length: n },
      (_, k) => chunk.baselines.subarray(k * size, (k + 1) * size),
    ),
  };
}

/** The OnnxScorer itself, holding the chunk's images as indices 0..n-1. */
export async function createScorer(
  m: ModelSpec,
  chunk: ChunkTensors,
  config: Config,
  mode: UpsampleMode,
  maskSides?: number[],
): Promise<OnnxScorer> {
  const { images, baselines } = chunkImages(chunk);
  const tuneKey = `${m.id} ${maskSides ?? ""}`;
  const batchSize = tunedBatch.get(tuneKey) ?? config.runtime.batchSize;
  const s = await OnnxScorer.create(m.onnx, images, baselines, {
    batchSize,
    mode,
    session: sessionOptions(config),
    offThread: config.runtime.offThread,
    maskSides,
  });
  if (batchSize === "auto") tunedBatch.set(tuneKey, s.stats().batchSize);
  return s;
}
