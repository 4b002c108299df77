/**
 * The ONNX Runtime side of gradients: probes tensor shapes with two forward runs (batch 1 and 2,
 * so batch-dependent dims are told apart from static ones), builds the gradient graph with
 * runtime/onnx/grad/build.ts and serves it through the `GradientModel` interface.
 */
import type { Provider } from "../lib/runtime_identity.ts";
import * as ort from "onnxruntime-node";
import type { GradientModel } from "../explain/scorer.ts";
import { Rng } from "../lib/rng.ts";
import {
  buildGradientModel,
  type Dim,
  type GradTarget,
  io,
  type ShapeMap,
  valueInfoDims,
} from "./onnx/grad/build.ts";
import { dequantizeModel, isQuantized } from "./onnx/dequantize.ts";
import type { RuleTable } from "./onnx/grad/rule.ts";
import { decodeModelSource, type ModelSource } from "./onnx/load.ts";
import { encodeModel, type ModelProto, onnxNs } from "./onnx/proto.ts";
import { createSession } from "./session.ts";

export interface GradModelOptions {
  target: GradTarget;
  /** onnxruntime execution providers, in order of preference (CPU is the fallback). */
  providers: Provider[];
  /**
   * Largest batch sent to one session run; "auto" picks it from the input size and the provider
   * the session got (`gradientBatchFor`).
   */
  maxBatch: number | "auto";
  inputName?: string;
  outputName?: string;
  /** Intra-op threads (0 = onnxruntime's default). */
  threads: number;
  /** The provider the sessions must open on (no fallback); see runtime/session.ts. */
  requireProvider?: Provider;
  /** The VJP rules to build with (default: all of runtime/onnx/grad/build.ts's). */
  rules?: RuleTable;
}

export const defaults: GradModelOptions = {
  target: "prob",
  providers: ["cpu"],
  maxBatch: "auto",
  threads: 0,
};

function dataInput(model: ModelProto, name?: string) {
  const g = model.graph!;
  const inits = new Set((g.initializer ?? []).map((t) => t.name));
  const v = (g.input ?? []).find((i) => !inits.has(i.name) && (!name || i.name === name));
  if (!v) throw new Error(`model has no input ${name ? `"${name}"` : ""}`);
  return v;
}

/**
 * Rows per gradient run for a CHW input on `provider`. On CPU, few rows: the backward pass is
 * memory-bound and a run whose activations stay in cache is faster per image (this 2-core CPU:
 * ResNet50 at 1 row 107 ms/image vs 127 at 26; convnext-ln iGOS++ at 16 rows 423 ms/image vs
 * 487 at 256), so about 12.5k input values: 16 Fashion-MNIST images, 1 ImageNet image. On a GPU,
 * about 4M input values, between 8 and 256, which bounds backward activations in GPU memory.
 */
export function gradientBatchFor([c, h, w]: readonly number[], provider: Provider): number {
  const chw = c * h * w;
  if (provider === "cpu") return Math.max(1, Math.min(16, Math.floor(12_544 / chw)));
  return Math.max(8, Math.min(256, Math.floor(4e6 / chw)));
}

/** Per-sample input dims (without batch); symbolic non-batch dims are an error. */
export function sampleShape(model: ModelProto, inputName?: string): number[] {
  const v = dataInput(model, inputName);
  const d = valueInfoDims(v).slice(1);
  if (!d.every((x) => typeof x === "number" && x > 0)) {
    throw new Error(`input "${v.name}" has non-static dims ${JSON.stringify(d)} beyond batch`);
  }
  return d as number[];
}

/**
 * Dims of every node output, from forward runs at batch 1 and 2 on random normal inputs: a dim
 * that changes with the batch becomes the string `N*<dim at batch 1>`.
 */
export async function probeShapes(
  model: ModelProto,
  opts: { inputName?: string; seed?: number; providers?: string[] } = {},
): Promise<ShapeMap> {
  const g = model.graph!;
  const input = dataInput(model, opts.inputName);
  const sample = sampleShape(model, input.name!);
  const names = new Set<string>();
  for (const n of g.node ?? []) for (const o of n.output ?? []) if (o) names.add(o);
  const probe = onnxNs.ModelProto.create({
    ...model,
    graph: onnxNs.GraphProto.create({
      ...g,
      output: [...names].map((name) => onnxNs.ValueInfoProto.create({ name })),
      valueInfo: [],
    }),
  });
  const session = await ort.InferenceSession.create(encodeModel(probe), {
    executionProviders: opts.providers ?? ["cpu"],
  });
  const rng = new Rng(opts.seed ?? 1);
  const dimsAt = async (b: number) => {
    const numel = b * sample.reduce((a, c) => a * c, 1);
    const x = Float32Array.from({ length: numel }, () => rng.normal());
    const out = await session.run({ [input.name!]: new ort.Tensor("float32", x, [b, ...sample]) });
    const m = new Map<string, number[]>();
    for (const [k, v] of Object.entries(out)) {
      m.set(k, v.dims.map(Number));
      v.dispose?.();
    }
    return m;
  };
  let one: Map<string, number[]>, two: Map<string, number[]>;
  try {
    one = await dimsAt(1);
    two = await dimsAt(2);
  } catch (e) {
    throw new Error(
      `probeShapes: the model does not run at batch 1 and 2: ${(e as Error).message}`,
    );
  } finally {
    await session.release();
  }
  const shapes: ShapeMap = new Map();
  shapes.set(input.name!, ["N*1", ...sample]);
  for (const [k, d1] of one) {
    const d2 = two.get(k)!;
    if (d1.length !== d2.length) continue; // rank depends on the batch: leave unknown
    shapes.set(k, d1.map((v, i): Dim => (v === d2[i] ? v : d2[i] === 2 * v ? `N*${v}` : `N?${v}`)));
  }
  return shapes;
}

/** The model itself, or its float rewrite when it is quantised (runtime/onnx/dequantize.ts). */
export function floatModel(model: ModelProto): ModelProto {
  return isQuantized(model) ? dequantizeModel(model) : model;
}

/**
 * Builds the gradient graph of a model file or bytes, with probed shapes. Quantised models are
 * differentiated through their float rewrite; `model` in the result is the forward model used.
 */
export async function buildGradientBytes(
  model: ModelSource,
  opts: Partial<GradModelOptions> = {},
): Promise<
  { bytes: Uint8Array; model: ModelProto; sample: number[]; nodes: number; quantized: boolean }
> {
  const source = await decodeModelSource(model);
  const quantized = isQuantized(source);
  const proto = floatModel(source);
  const shapes = await probeShapes(proto, { inputName: opts.inputName });
  const built = buildGradientModel(proto, {
    target: opts.target ?? defaults.target,
    inputName: opts.inputName,
    outputName: opts.outputName,
    shapes,
    rules: opts.rules,
  });
  return {
    bytes: encodeModel(built),
    model: proto,
    sample: sampleShape(proto, opts.inputName),
    nodes: built.graph!.node!.length,
    quantized,
  };
}

export interface OrtGradientModel extends GradientModel {
  /** The execution provider the sessions got (CPU when a requested GPU provider is missing). */
  provider: Provider;
  /** Rows per session run. */
  maxBatch: number;
  /** Logits of the forward model, [n, C] row-major. */
  logits(x: Float32Array, n: number): Promise<{ logits: Float32Array; classes: number }>;
  release(): Promise<void>;
}

/** An ORT-backed GradientModel over the built gradient graph (and a forward-only session). */
export async function createGradientModel(
  model: ModelSource,
  options: Partial<GradModelOptions> = {},
): Promise<OrtGradientModel> {
  const opts = { ...defaults, ...options };
  const { bytes, model: proto, sample } = await buildGradientBytes(model, opts);
  if (sample.length !== 3) {
    throw new Error(`createGradientModel: input must be [N, C, H, W], got [N, ${sample}]`);
  }
  const so = {
    providers: opts.providers,
    requireProvider: opts.requireProvider,
    ...(opts.threads > 0 ? { threads: opts.threads } : {}),
  };
  const grad = await createSession(bytes, so);
  const gradSession = grad.session;
  const fwdSession =
    (await createSession(encodeModel(proto), { ...so, providers: [grad.provider] }))
      .session;
  const maxBatch = opts.maxBatch === "auto"
    ? gradientBatchFor(sample, grad.provider)
    : opts.maxBatch;
  const inName = dataInput(proto, opts.inputName).name!;
  const outName = opts.outputName ?? proto.graph!.output![0].name!;
  const per = sample.reduce((a, b) => a * b, 1);
  const inputShape = [sample[0], sample[1], sample[2]] as const;

  const check = (x: Float32Array, n: number, cls?: Int32Array) => {
    if (x.length !== n * per) {
      throw new Error(`gradient model: x has ${x.length} values, expected ${n} x ${per}`);
    }
    if (cls && cls.length !== n) {
      throw new Error(`gradient model: ${cls.length} classes for ${n} rows`);
    }
  };

  async function logits(x: Float32Array, n: number) {
    check(x, n);
    const parts: Float32Array[] = [];
    let classes = 0;
    for (let s = 0; s < n; s += maxBatch) {
      const b = Math.min(maxBatch, n - s);
      const t = new ort.Tensor("float32", x.subarray(s * per, (s + b) * per), [b, ...sample]);
      const out = await fwdSession.run({ [inName]: t });
      const y = out[outName];
      classes = Number(y.dims[1]);
      parts.push((y.data as Float32Array).slice());
    }
    const all = new Float32Array(n * classes);
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    return { logits: all, classes };
  }

  return {
    inputShape,
    provider: grad.provider,
    maxBatch,
    logits,
    async probs(x, n, cls) {
      check(x, n, cls);
      const { logits: l, classes } = await logits(x, n);
      const p = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        let m = -Infinity;
        for (let c = 0; c < classes; c++) m = Math.max(m, l[i * classes + c]);
        let z = 0;
        for (let c = 0; c < classes; c++) z += Math.exp(l[i * classes + c] - m);
        p[i] = Math.exp(l[i * classes + cls[i]] - m) / z;
      }
      return p;
    },
    async probsAndGrad(x, n, cls) {
      check(x, n, cls);
      const probs = new Float32Array(n);
      const grad = new Float32Array(n * per);
      for (let s = 0; s < n; s += maxBatch) {
        const b = Math.min(maxBatch, n - s);
        const out = await gradSession.run({
          [io.input]: new ort.Tensor("float32", x.subarray(s * per, (s + b) * per), [b, ...sample]),
          [io.cls]: new ort.Tensor(
            "int64",
            BigInt64Array.from(cls.subarray(s, s + b), (c) => BigInt(c)),
            [b],
          ),
        });
        const p = out[io.probs].data as Float32Array;
        const classes = Number(out[io.probs].dims[1]);
        for (let i = 0; i < b; i++) probs[s + i] = p[i * classes + cls[s + i]];
        grad.set(out[io.grad].data as Float32Array, s * per);
      }
      return { probs, grad };
    },
    async release() {
      await gradSession.release();
      await fwdSession.release();
    },
  };
}
