/**
 * Test support for VJP rules: wraps a few ONNX nodes (input `x` with a batch dim, output `y`)
 * into a classifier (Flatten + a fixed random projection to 3 logits), builds its gradient graph
 * and compares gradient·v with central finite differences of the forward model along random
 * directions v. Used by the *_test.ts files beside the rules.
 */
import * as ort from "onnxruntime-node";
import { Rng } from "../../../lib/rng.ts";
import { buildGradientBytes } from "../../grad_model.ts";
import { DType, floatTensor, makeGraph, makeModel, node, valueInfo } from "../builder.ts";
import {
  encodeModel,
  type ModelProto,
  type NodeProto,
  onnxNs,
  type TensorProto,
} from "../proto.ts";
import type { GradTarget } from "./build.ts";

export interface OpCase {
  nodes: NodeProto[];
  /** Per-sample dims of the input `x`. */
  x: number[];
  inits?: TensorProto[];
  opset?: number;
  target?: GradTarget;
  batch?: number;
  eps?: number;
  seed?: number;
  /** Makes input values (default: standard normal). */
  sample?: (rng: Rng, i: number) => number;
  /** Extra opset imports, e.g. com.microsoft. */
  domains?: { domain: string; version: number }[];
}

/** Random normal float tensor. */
export function randomTensor(name: string, dims: number[], rng: Rng, scale = 1): TensorProto {
  const n = dims.reduce((a, b) => a * b, 1);
  return floatTensor(name, dims, Array.from({ length: n }, () => rng.normal() * scale));
}

async function runOnce(model: ModelProto, feeds: Record<string, ort.Tensor>) {
  const s = await ort.InferenceSession.create(encodeModel(model));
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

/** The classifier around the case's nodes. */
export async function caseModel(c: OpCase): Promise<ModelProto> {
  const rng = new Rng(c.seed ?? 7);
  const batch = c.batch ?? 2;
  const opset = c.opset ?? 17;
  const probe = makeModel(
    makeGraph("probe", c.nodes, [valueInfo("x", DType.FLOAT, ["batch", ...c.x])], [
      onnxNs.ValueInfoProto.create({ name: "y" }),
    ], c.inits ?? []),
    opset,
  );
  for (const d of c.domains ?? []) probe.opsetImport!.push(d);
  const numel = batch * c.x.reduce((a, b) => a * b, 1);
  const y = (await runOnce(probe, {
    x: new ort.Tensor("float32", new Float32Array(numel).fill(0.5), [batch, ...c.x]),
  })).y;
  const d = y.dims.slice(1).reduce((a, b) => a * Number(b), 1);
  const proj = randomTensor("proj", [d, 3], rng, 1 / Math.sqrt(d));
  const graph = makeGraph(
    "case",
    [
      ...c.nodes,
      node("Flatten", ["y"], ["flat"], { axis: 1 }),
      node("MatMul", ["flat", "proj"], ["logits"]),
    ],
    [valueInfo("x", DType.FLOAT, ["batch", ...c.x])],
    [valueInfo("logits", DType.FLOAT, ["batch", 3])],
    [...(c.inits ?? []), proj],
  );
  const model = makeModel(graph, opset);
  for (const dm of c.domains ?? []) model.opsetImport!.push(dm);
  return model;
}

export interface CheckResult {
  /**
   * Worst |g·v − fd| / max(|g·v|, |fd|, ‖g‖) over the directions (‖g‖ is the typical size of g·v
   * for a standard normal v, so cancellation in one direction does not inflate the error).
   */
  worst: number;
  analytic: number[];
  numeric: number[];
}

/** Gradient graph vs central differences for the case's classifier. */
export async function checkOp(c: OpCase): Promise<CheckResult> {
  const model = await caseModel(c);
  const target = c.target ?? "logit";
  const { bytes } = await buildGradientBytes(model, { target });
  const rng = new Rng((c.seed ?? 7) + 1);
  const batch = c.batch ?? 2;
  const per = c.x.reduce((a, b) => a * b, 1);
  const x = Float64Array.from(
    { length: batch * per },
    (_, i) => c.sample ? c.sample(rng, i) : rng.normal(),
  );
  const cls = Array.from({ length: batch }, () => rng.int(3));
  const gs = await ort.InferenceSession.create(bytes);
  const fs = await ort.InferenceSession.create(encodeModel(model));
  try {
    const out = await gs.run({
      input: new ort.Tensor("float32", Float32Array.from(x), [batch, ...c.x]),
      cls: new ort.Tensor("int64", BigInt64Array.from(cls, BigInt), [batch]),
    });
    const grad = out.grad.data as Float32Array;
    const f = async (v: Float64Array) => {
      const r = await fs.run({
        x: new ort.Tensor("float32", Float32Array.from(v), [batch, ...c.x]),
      });
      const l = r.logits.data as Float32Array;
      let s = 0;
      for (let i = 0; i < batch; i++) {
        if (target === "logit") s += l[i * 3 + cls[i]];
        else {
          const m = Math.max(l[i * 3], l[i * 3 + 1], l[i * 3 + 2]);
          const z = Math.exp(l[i * 3] - m) + Math.exp(l[i * 3 + 1] - m) +
            Math.exp(l[i * 3 + 2] - m);
          s += Math.exp(l[i * 3 + cls[i]] - m) / z;
        }
      }
      return s;
    };
    const eps = c.eps ?? 1e-2;
    const analytic: number[] = [];
    const numeric: number[] = [];
    let worst = 0;
    let gnorm = 0;
    for (let i = 0; i < x.length; i++) gnorm += grad[i] * grad[i];
    gnorm = Math.sqrt(gnorm);
    for (let k = 0; k < 3; k++) {
      const v = Float64Array.from({ length: x.length }, () => rng.normal());
      let dot = 0;
      for (let i = 0; i < x.length; i++) dot += grad[i] * v[i];
      const plus = x.map((xi, i) => xi + eps * v[i]);
      const minus = x.map((xi, i) => xi - eps * v[i]);
      const fd = ((await f(plus)) - (await f(minus))) / (2 * eps);
      analytic.push(dot);
      numeric.push(fd);
      const scale = Math.max(Math.abs(dot), Math.abs(fd), gnorm, 1e-6);
      worst = Math.max(worst, Math.abs(dot - fd) / scale);
    }
    return { worst, analytic, numeric };
  } finally {
    await gs.release();
    await fs.release();
  }
}

/** Asserts the case's gradient matches finite differences within `tol` (relative). */
export async function expectClose(name: string, c: OpCase, tol = 2e-3): Promise<void> {
  const r = await checkOp(c);
  if (!(r.worst < tol)) {
    throw new Error(
      `${name}: relative error ${r.worst} (analytic ${r.analytic}, numeric ${r.numeric})`,
    );
  }
}

/**
 * Known-answer support for pointwise rules: the logits are the op's output itself (x [N, C, ...]
 * flattened to [N, C·...]), so with target "logit" and class k the gradient of row i is the op's
 * derivative at x[i, k] in slot k and 0 elsewhere. Returns that derivative per row, and the ops of
 * the built gradient graph.
 */
export async function pointwiseDerivatives(
  nodes: NodeProto[],
  xs: number[],
  opts: { trailing?: number[]; inits?: TensorProto[] } = {},
): Promise<{ derivatives: number[]; ops: string[] }> {
  const trailing = opts.trailing ?? [];
  const c = xs.length;
  const model = makeModel(
    makeGraph(
      "pointwise",
      [...nodes, node("Flatten", ["y"], ["logits"], { axis: 1 })],
      [valueInfo("x", DType.FLOAT, ["batch", c, ...trailing])],
      [valueInfo("logits", DType.FLOAT, ["batch", c])],
      opts.inits ?? [],
    ),
    17,
  );
  const { bytes } = await buildGradientBytes(model, { target: "logit" });
  const ops = onnxNs.ModelProto.decode(bytes).graph!.node!.map((n) => n.opType!);
  // Row i holds every x and asks for class i.
  const x = new Float32Array(c * c);
  for (let i = 0; i < c; i++) x.set(xs, i * c);
  const s = await ort.InferenceSession.create(bytes);
  try {
    const out = await s.run({
      input: new ort.Tensor("float32", x, [c, c, ...trailing]),
      cls: new ort.Tensor("int64", BigInt64Array.from(xs, (_, i) => BigInt(i)), [c]),
    });
    const g = out.grad.data as Float32Array;
    const derivatives = xs.map((_, i) => g[i * c + i]);
    for (let i = 0; i < c; i++) {
      for (let k = 0; k < c; k++) {
        if (k !== i && g[i * c + k] !== 0) {
          throw new Error(`row ${i}: slot ${k} is ${g[i * c + k]}`);
        }
      }
    }
    return { derivatives, ops };
  } finally {
    await s.release();
  }
}
