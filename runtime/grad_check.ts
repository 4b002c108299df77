/**
 * The core of `grad-check`: checks a model's gradient graph against central finite differences
 * of its own forward pass along a few random directions, so a new architecture (or an exporter
 * change) is validated before its gradients feed explanations.
 *
 * float32 forward passes limit finite differences: each direction v is scaled to unit RMS, the
 * step is `eps` per element, and the error of a direction is |∇f·v − FD| / max(|∇f·v|, |FD|, ‖∇f‖)
 * (‖∇f‖ is the typical size of ∇f·v, so a direction where the product cancels is not over-weighted).
 * Sums run in float64. Piecewise-linear nets (ReLU, max-pool) are exact between kinks, so a small
 * eps keeps the difference from straddling many of them.
 */
import type { Provider } from "../lib/runtime_identity.ts";
import * as ort from "onnxruntime-node";
import { Rng } from "../lib/rng.ts";
import { buildGradientBytes, type GradModelOptions } from "./grad_model.ts";
import { encodeModel } from "./onnx/proto.ts";
import type { GradTarget } from "./onnx/grad/build.ts";
import { createSession } from "./session.ts";

export interface GradCheckOptions {
  directions: number;
  /**
   * Finite-difference steps per element (directions have unit RMS). Each direction keeps the
   * step with the smallest error: large steps straddle ReLU/max kinks, small ones drown in
   * float32 rounding of the logits, and which wins depends on the model.
   */
  eps: number[];
  seed: number;
  target: GradTarget;
  /** Inputs checked at once (each row its own class). */
  batch: number;
  /** Input values: standard normal times this (the normalised-image scale). */
  inputScale: number;
  /** Providers in order of preference; CPU is the fallback. */
  providers: Provider[];
  inputName?: string;
  outputName?: string;
}

export const defaults: GradCheckOptions = {
  directions: 3,
  eps: [1e-2, 3e-3, 1e-3, 3e-4, 1e-4],
  seed: 1,
  target: "logit",
  batch: 2,
  inputScale: 1,
  providers: ["cpu"],
};

export interface GradCheckResult {
  model: string;
  target: GradTarget;
  worstRelError: number;
  perDirection: { analytic: number; numeric: number; eps: number; relError: number }[];
  /** Op types of the forward model with their counts. */
  ops: Record<string, number>;
  /** Node count of the built gradient graph (forward included). */
  gradNodes: number;
  seconds: number;
}

export async function gradCheck(
  modelPath: string,
  options: Partial<GradCheckOptions> = {},
): Promise<GradCheckResult> {
  const o = { ...defaults, ...options };
  const t0 = performance.now();
  const opts: Partial<GradModelOptions> = {
    target: o.target,
    inputName: o.inputName,
    outputName: o.outputName,
    providers: o.providers,
  };
  const { bytes, model, sample, nodes } = await buildGradientBytes(modelPath, opts);
  const ops: Record<string, number> = {};
  for (const n of model.graph!.node!) ops[n.opType!] = (ops[n.opType!] ?? 0) + 1;
  const inName = o.inputName ??
    model.graph!.input!.find((v) => !model.graph!.initializer!.some((t) => t.name === v.name))!
      .name!;
  const outName = o.outputName ?? model.graph!.output![0].name!;
  const opened = await createSession(bytes, { providers: o.providers });
  const gs = opened.session;
  const fs = (await createSession(encodeModel(model), { providers: [opened.provider] })).session;
  const rng = new Rng(o.seed);
  const per = sample.reduce((a, b) => a * b, 1);
  const n = o.batch;
  const x = Float32Array.from({ length: n * per }, () => rng.normal() * o.inputScale);
  const dims = [n, ...sample];
  try {
    const logitsOf = async (v: Float32Array) => {
      const r = await fs.run({ [inName]: new ort.Tensor("float32", v, dims) });
      return { data: r[outName].data as Float32Array, classes: Number(r[outName].dims[1]) };
    };
    const base = await logitsOf(x);
    const C = base.classes;
    // Each row's own top class: the class explanations ask about.
    const cls = Array.from({ length: n }, (_, i) => {
      let b = 0;
      for (let c = 1; c < C; c++) if (base.data[i * C + c] > base.data[i * C + b]) b = c;
      return b;
    });
    const objective = (l: Float32Array) => {
      let s = 0;
      for (let i = 0; i < n; i++) {
        if (o.target === "logit") s += l[i * C + cls[i]];
        else {
          let m = -Infinity;
          for (let c = 0; c < C; c++) m = Math.max(m, l[i * C + c]);
          let z = 0;
          for (let c = 0; c < C; c++) z += Math.exp(l[i * C + c] - m);
          s += Math.exp(l[i * C + cls[i]] - m) / z;
        }
      }
      return s;
    };
    const out = await gs.run({
      input: new ort.Tensor("float32", x, dims),
      cls: new ort.Tensor("int64", BigInt64Array.from(cls, BigInt), [n]),
    });
    const grad = out.grad.data as Float32Array;
    let gnorm = 0;
    for (let i = 0; i < grad.length; i++) gnorm += grad[i] * grad[i];
    gnorm = Math.sqrt(gnorm);
    const perDirection: GradCheckResult["perDirection"] = [];
    for (let k = 0; k < o.directions; k++) {
      const v = Float64Array.from({ length: x.length }, () => rng.normal());
      let dot = 0;
      for (let i = 0; i < x.length; i++) dot += grad[i] * v[i];
      let best = { numeric: NaN, eps: NaN, relError: Infinity };
      for (const eps of o.eps) {
        const plus = x.map((xi, i) => xi + eps * v[i]);
        const minus = x.map((xi, i) => xi - eps * v[i]);
        const fd = (objective((await logitsOf(plus)).data) -
          objective((await logitsOf(minus)).data)) / (2 * eps);
        const relError = Math.abs(dot - fd) / Math.max(Math.abs(dot), Math.abs(fd), gnorm, 1e-12);
        if (relError < best.relError) best = { numeric: fd, eps, relError };
      }
      perDirection.push({ analytic: dot, ...best });
    }
    return {
      model: modelPath,
      target: o.target,
      worstRelError: Math.max(...perDirection.map((d) => d.relError)),
      perDirection,
      ops,
      gradNodes: nodes,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await gs.release();
    await fs.release();
  }
}

if (import.meta.main) {
  const [path, ...rest] = Deno.args;
  if (!path) {
    console.error(
      "usage: grad_check.ts MODEL.onnx [--target prob|logit] [--eps E1,E2,...] [--seed S] " +
        "[--directions D] [--batch B]",
    );
    Deno.exit(2);
  }
  const flag = (name: string) => {
    const i = rest.indexOf(`--${name}`);
    return i >= 0 ? rest[i + 1] : undefined;
  };
  const r = await gradCheck(path, {
    target: (flag("target") as GradTarget | undefined) ?? defaults.target,
    eps: flag("eps")?.split(",").map(Number) ?? defaults.eps,
    seed: Number(flag("seed") ?? defaults.seed),
    directions: Number(flag("directions") ?? defaults.directions),
    batch: Number(flag("batch") ?? defaults.batch),
  });
  console.log(JSON.stringify(r, null, 2));
}
