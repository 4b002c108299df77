/**
 * Plain batched forward passes of full images (no masks): predicted classes, probabilities and
 * optional intermediate tensors, for infer-baselines and evaluation.
 */
import type { Provider } from "../lib/runtime_identity.ts";
import * as ort from "onnxruntime-node";
import { loadModel, type ModelSource } from "./onnx/load.ts";
import { encodeModel, onnxNs } from "./onnx/proto.ts";
import { createSession, type SessionOptions } from "./session.ts";

export interface ForwardOptions {
  batchSize: number;
  /** How many top classes to return per image. */
  topK: number;
  /** Keep the full softmax [n, classes]. */
  probs: boolean;
  /** Intermediate tensors to return (exposed as extra graph outputs). */
  extraOutputs: string[];
  session: Partial<SessionOptions>;
}

export const defaults: ForwardOptions = {
  batchSize: 32,
  topK: 5,
  probs: false,
  extraOutputs: [],
  session: {},
};

export interface ForwardResult {
  n: number;
  classes: number;
  topK: number;
  /** [n, topK] class indices, most probable first. */
  top: Int32Array;
  /** [n, topK] their probabilities. */
  topProbs: Float32Array;
  /** [n, classes] softmax, when asked for. */
  probs?: Float32Array;
  /** Extra outputs, concatenated over the batch dimension. */
  extras: Record<string, { data: Float32Array; dims: number[] }>;
}

/** A model opened for full-image forward passes. */
export class Forward {
  private constructor(
    readonly session: ort.InferenceSession,
    readonly provider: Provider,
    readonly inputName: string,
    readonly outputName: string,
    readonly inputShape: readonly [number, number, number],
    readonly classes: number,
    readonly options: ForwardOptions,
  ) {}

  static async create(
    model: ModelSource,
    options: Partial<ForwardOptions> = {},
  ): Promise<Forward> {
    const opts = { ...defaults, ...options };
    const { source, proto, io, inputShape, classes } = await loadModel(model);
    const g = proto.graph!;
    const produced = new Set((g.node ?? []).flatMap((n) => n.output ?? []));
    const extra = opts.extraOutputs.filter((e) => !(g.output ?? []).some((o) => o.name === e));
    for (const e of extra) {
      if (!produced.has(e)) {
        throw new Error(`${source}: extra output '${e}' is not a tensor of the model`);
      }
    }
    const exposed = extra.length === 0 ? proto : onnxNs.ModelProto.create({
      ...proto,
      graph: onnxNs.GraphProto.create({
        ...g,
        output: [
          ...(g.output ?? []),
          ...extra.map((name) =>
            (g.valueInfo ?? []).find((v) => v.name === name) ??
              onnxNs.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1 } } })
          ),
        ],
      }),
    });
    const { session, provider } = await createSession(encodeModel(exposed), opts.session);
    return new Forward(session, provider, io.inputName, io.outputName, inputShape, classes, opts);
  }

  /** Runs `n` images given as one [n, C, H, W] array or a list of CHW arrays. */
  async run(images: Float32Array | readonly Float32Array[]): Promise<ForwardResult> {
    const [c, h, w] = this.inputShape;
    const chw = c * h * w;
    const list = images instanceof Float32Array ? undefined : images;
    const n = list ? list.length : (images as Float32Array).length / chw;
    if (!Number.isInteger(n)) {
      throw new Error(
        `forward: ${(images as Float32Array).length} values is not a multiple of ${chw}`,
      );
    }
    const { batchSize: bs, topK, probs: keepProbs, extraOutputs } = this.options;
    const k = Math.min(topK, this.classes);
    const result: ForwardResult = {
      n,
      classes: this.classes,
      topK: k,
      top: new Int32Array(n * k),
      topProbs: new Float32Array(n * k),
      probs: keepProbs ? new Float32Array(n * this.classes) : undefined,
      extras: {},
    };
    const extraParts: Record<string, { data: Float32Array; dims: number[] }[]> = {};
    const buf = list ? new Float32Array(Math.min(bs, n) * chw) : undefined;
    const p = new Float64Array(this.classes);
    for (let start = 0; start < n; start += bs) {
      const m = Math.min(bs, n - start);
      let data: Float32Array;
      if (list) {
        for (let i = 0; i < m; i++) {
          if (list[start + i].length !== chw) {
            throw new Error(
              `forward: image ${start + i} has ${list[start + i].length} values, need ${chw}`,
            );
          }
          buf!.set(list[start + i], i * chw);
        }
        data = buf!.subarray(0, m * chw);
      } else {
        data = (images as Float32Array).subarray(start * chw, (start + m) * chw);
      }
      const out = await this.session.run(
        { [this.inputName]: new ort.Tensor("float32", data, [m, c, h, w]) },
        [this.outputName, ...extraOutputs],
      );
      const logits = out[this.outputName].data as Float32Array;
      for (let i = 0; i < m; i++) {
        softmax(logits.subarray(i * this.classes, (i + 1) * this.classes), p);
        if (result.probs) result.probs.set(p, (start + i) * this.classes);
        topIndices(p, k, result.top.subarray((start + i) * k, (start + i + 1) * k));
        for (let j = 0; j < k; j++) {
          result.topProbs[(start + i) * k + j] = p[result.top[(start + i) * k + j]];
        }
      }
      for (const e of extraOutputs) {
        (extraParts[e] ??= []).push({
          data: Float32Array.from(out[e].data as Float32Array),
          dims: out[e].dims.map(Number),
        });
      }
    }
    for (const [e, parts] of Object.entries(extraParts)) {
      const total = parts.reduce((a, x) => a + x.data.length, 0);
      const data = new Float32Array(total);
      let o = 0;
      for (const x of parts) {
        data.set(x.data, o);
        o += x.data.length;
      }
      result.extras[e] = { data, dims: [n, ...parts[0].dims.slice(1)] };
    }
    return result;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Softmax in float64 (the reference precision for probabilities). */
export function softmax(
  logits: ArrayLike<number>,
  out = new Float64Array(logits.length),
): Float64Array {
  let mx = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > mx) mx = logits[i];
  let z = 0;
  for (let i = 0; i < logits.length; i++) z += out[i] = Math.exp(logits[i] - mx);
  for (let i = 0; i < logits.length; i++) out[i] /= z;
  return out;
}

/** Indices of the `k` largest values, largest first; ties go to the lower index. */
export function topIndices(
  v: ArrayLike<number>,
  k: number,
  out: Int32Array<ArrayBufferLike> = new Int32Array(k),
): Int32Array<ArrayBufferLike> {
  let filled = 0;
  for (let i = 0; i < v.length; i++) {
    if (filled === k && v[i] <= v[out[k - 1]]) continue;
    let j = filled < k ? filled++ : k - 1;
    while (j > 0 && v[out[j - 1]] < v[i]) {
      out[j] = out[j - 1];
      j--;
    }
    out[j] = i;
  }
  return out;
}
