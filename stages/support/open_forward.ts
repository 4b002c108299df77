/** Batched forward passes on full images (and channel maxima of a named tensor, for Fig. 5). */
import type { Config } from "../../configs/schema.ts";
import { Forward } from "../../runtime/forward.ts";
import type { ModelSpec } from "../../runtime/registry.ts";
import { sessionOptions } from "./session_options.ts";

export interface ForwardOutput {
  /** [n, classes] softmax. */
  probs: Float32Array;
  /** [n, channels]: each channel's maximal activation of the requested tensor, per image. */
  channelMax?: Float32Array;
}

/** Softmax of every image (and channel maxima of an intermediate tensor, for Fig. 5). */
export async function forwardAll(
  m: ModelSpec,
  x: Float32Array,
  n: number,
  config: Config,
  extra: string[],
): Promise<ForwardOutput> {
  const f = await Forward.create(m.onnx, {
    batchSize: 32,
    probs: true,
    topK: 1,
    extraOutputs: extra,
    session: sessionOptions(config),
  });
  try {
    const size = x.length / Math.max(n, 1);
    const r = await f.run(
      Array.from({ length: n }, (_, k) => x.subarray(k * size, (k + 1) * size)),
    );
    const out: ForwardOutput = { probs: r.probs! };
    if (extra.length) {
      const t = r.extras[extra[0]];
      out.channelMax = channelMaxima(t.data, t.dims);
    }
    return out;
  } finally {
    await f.release();
  }
}

/**
 * Per image, each channel's maximum: NCHW feature maps ([n, C, h, w]) or token sequences
 * ([n, T, D], channels = D, the max over tokens).
 */
export function channelMaxima(data: Float32Array, dims: number[]): Float32Array {
  const n = dims[0];
  if (dims.length === 4) {
    const [, c, h, w] = dims;
    const out = new Float32Array(n * c).fill(-Infinity);
    for (let i = 0; i < n; i++) {
      for (let ch = 0; ch < c; ch++) {
        let mx = -Infinity;
        const o = (i * c + ch) * h * w;
        for (let p = 0; p < h * w; p++) if (data[o + p] > mx) mx = data[o + p];
        out[i * c + ch] = mx;
      }
    }
    return out;
  }
  if (dims.length === 3) {
    const [, t, d] = dims;
    const out = new Float32Array(n * d).fill(-Infinity);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < t; k++) {
        for (let ch = 0; ch < d; ch++) {
          const v = data[(i * t + k) * d + ch];
          if (v > out[i * d + ch]) out[i * d + ch] = v;
        }
      }
    }
    return out;
  }
  if (dims.length === 2) return data.slice();
  throw new Error(`activation tensor of rank ${dims.length} [${dims}]: expected NCHW or [N, T, D]`);
}
