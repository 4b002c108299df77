/** Batched forward passes on full images (and channel maxima of the last block, for Fig. 5). */
import type { Config } from "../../configs/schema.ts";
import { Forward } from "../../runtime/forward.ts";
import { channelMaxima, type LastBlock, layoutOf } from "../../runtime/last_block.ts";
import type { ModelSpec } from "../../runtime/registry.ts";
import { sessionOptions } from "./session_options.ts";

export interface ForwardOutput {
  /** [n, classes] softmax. */
  probs: Float32Array;
  /** [n, channels]: each channel of the last block's maximal activation, per image. */
  channelMax?: Float32Array;
}

/** Softmax of every image (and, given the last block, its channel maxima, for Fig. 5). */
export async function forwardAll(
  m: ModelSpec,
  x: Float32Array,
  n: number,
  config: Config,
  lastBlock: LastBlock | null = null,
): Promise<ForwardOutput> {
  const f = await Forward.create(m.onnx, {
    batchSize: 32,
    probs: true,
    topK: 1,
    extraOutputs: lastBlock ? [lastBlock.tensor] : [],
    session: sessionOptions(config),
  });
  try {
    const size = x.length / Math.max(n, 1);
    const r = await f.run(
      Array.from({ length: n }, (_, k) => x.subarray(k * size, (k + 1) * size)),
    );
    const out: ForwardOutput = { probs: r.probs! };
    if (lastBlock) {
      const t = r.extras[lastBlock.tensor];
      const at = `model ${m.id} (${m.cardPath ?? m.onnx})`;
      out.channelMax = channelMaxima(t.data, t.dims, layoutOf(lastBlock, t.dims, at));
    }
    return out;
  } finally {
    await f.release();
  }
}
