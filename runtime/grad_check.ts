/**
 * The core of `grad-check`: checks a model's gradient graph against finite differences along a
 * few random directions, so a new architecture (or an exporter change) is validated before its
 * gradients feed explanations, with a verdict: the worst relative error against a threshold.
 *
 * Kinks. On a ReLU net some of the tens of thousands of ReLU inputs sit within 1e-5 of zero, so
 * a finite difference at any step float32 resolves crosses kinks: the plain check's worst error
 * was 0.017 on the zoo's cnn-bn and 0.11 on GoogLeNet, whose gradients are right, and 0.014 to
 * 0.034 with a 5% error planted in cnn-bn's last layer. So the differences are taken on the
 * model with its kinks frozen where x has them (runtime/onnx/grad/kinks.ts): the same function
 * on kink-free segments, the same derivative at x, and smooth around it, so steps can be large
 * enough for float32. Measured worst errors with the defaults: ≤ 2.6e-4 on the 16 zoo models
 * (ViTs; ≤ 6e-6 on the ReLU CNNs), ≤ 5e-5 on MobileNetV2, random-weight ResNet18, GoogLeNet,
 * MNASNet, MaxViT-T and a tiny ReLU MaxViT, logit and prob; 0.047 with the planted 5% error.
 * Each direction also says whether its points crossed any kink of the model itself.
 *
 * Each direction v has unit RMS, steps are per element, and its error is
 * |∇f·v − FD| / max(|∇f·v|, |FD|, ‖∇f‖) (‖∇f‖ is the typical size of ∇f·v, so a direction where
 * the product cancels is not over-weighted), for the difference with the smallest error: large
 * steps meet curvature (softmax, GELU, LayerNorm), small ones rounding. Sums run in float64.
 */
import type { Provider } from "../lib/runtime_identity.ts";
import * as ort from "onnxruntime-node";
import { Rng } from "../lib/rng.ts";
import { buildGradientBytes, type GradModelOptions } from "./grad_model.ts";
import type { GradTarget } from "./onnx/grad/build.ts";
import { kinkModel } from "./onnx/grad/kinks.ts";
import type { RuleTable } from "./onnx/grad/rule.ts";
import { encodeModel, type ModelProto } from "./onnx/proto.ts";
import { createSession } from "./session.ts";

export interface GradCheckOptions {
  directions: number;
  /**
   * Finite-difference steps per element (directions have unit RMS). Each step gives a central
   * difference, and a five-point one where twice the step is listed too; each direction keeps
   * the difference with the smallest error.
   */
  eps: number[];
  seed: number;
  target: GradTarget;
  /** The check passes when the worst relative error is at most this. */
  threshold: number;
  /** Inputs checked at once (each row its own class). */
  batch: number;
  /** Input values: standard normal times this (the normalised-image scale). */
  inputScale: number;
  /** Providers in order of preference; CPU is the fallback. */
  providers: Provider[];
  inputName?: string;
  outputName?: string;
  /** The VJP rules to build with (default: all of build.ts's); tests plant errors here. */
  rules?: RuleTable;
}

/**
 * The pass threshold on the worst relative error: 4x the largest measured on correct gradient
 * graphs (2.6e-4, a BatchNorm ViT), 47x below what a 5% error in one rule gives.
 */
export const THRESHOLD = 1e-3;

export const defaults: GradCheckOptions = {
  directions: 3,
  // 0.1 halved down to 1e-4: 22 evaluations, 11 central and 10 five-point differences.
  eps: Array.from({ length: 11 }, (_, k) => 0.1 / 2 ** k),
  seed: 1,
  target: "logit",
  threshold: THRESHOLD,
  batch: 2,
  inputScale: 1,
  providers: ["cpu"],
};

/** Central: (f(x+h·v) − f(x−h·v)) / 2h. Five-point: the O(h⁴) stencil over ±h and ±2h. */
export type Stencil = "central" | "five-point";

/** One random direction: the gradient's product with it against the best finite difference. */
export interface Direction {
  analytic: number;
  numeric: number;
  /** The step h of the best difference. */
  eps: number;
  stencil: Stencil;
  relError: number;
  /** Kink witnesses of the model that changed between x and the points the difference used. */
  kinksCrossed: number;
  kinkFree: boolean;
}

export interface GradCheckResult {
  model: string;
  target: GradTarget;
  /** worstRelError ≤ threshold. */
  passed: boolean;
  threshold: number;
  worstRelError: number;
  /** Fraction of directions whose segment crossed no kink of the model (plain FD would do). */
  kinkFreeFraction: number;
  perDirection: Direction[];
  /**
   * Nodes with kinks by op type: frozen during the check, or not (their kinks can still meet a
   * finite difference; none of the ops the zoo and torchvision's CNNs use).
   */
  kinks: { frozen: Record<string, number>; notFrozen: Record<string, number> };
  /**
   * What was checked: the model itself, or, for a quantised model, its float surrogate
   * (dequantised, rounding dropped), whose gradient and finite differences both differ from the
   * int8 model's by rounding (docs/METHODS.md §3).
   */
  checked: "model" | "float surrogate of a quantised model";
  /** Op types of the forward model (a quantised model's surrogate) with their counts. */
  ops: Record<string, number>;
  /** Node count of the built gradient graph (forward included). */
  gradNodes: number;
  seconds: number;
}

export async function gradCheck(
  modelSource: string | Uint8Array | ModelProto,
  options: Partial<GradCheckOptions> = {},
): Promise<GradCheckResult> {
  const o = { ...defaults, ...options };
  const t0 = performance.now();
  const opts: Partial<GradModelOptions> = {
    target: o.target,
    inputName: o.inputName,
    outputName: o.outputName,
    providers: o.providers,
    rules: o.rules,
  };
  const { bytes, model, sample, nodes, quantized } = await buildGradientBytes(modelSource, opts);
  const ops: Record<string, number> = {};
  for (const n of model.graph!.node!) ops[n.opType!] = (ops[n.opType!] ?? 0) + 1;
  const inName = o.inputName ??
    model.graph!.input!.find((v) => !model.graph!.initializer!.some((t) => t.name === v.name))!
      .name!;
  const outName = o.outputName ?? model.graph!.output![0].name!;
  const witnessed = kinkModel(model, "witness");
  const frozen = kinkModel(model, "frozen");
  const opened = await createSession(bytes, { providers: o.providers });
  const session = (m: ModelProto) =>
    createSession(encodeModel(m), { providers: [opened.provider] }).then((s) => s.session);
  const gs = opened.session;
  const ws = await session(witnessed.model);
  const fs = await session(frozen.model);
  const rng = new Rng(o.seed);
  const per = sample.reduce((a, b) => a * b, 1);
  const n = o.batch;
  const x = Float32Array.from({ length: n * per }, () => rng.normal() * o.inputScale);
  const dims = [n, ...sample];
  try {
    const base = await ws.run({ [inName]: new ort.Tensor("float32", x, dims) });
    const baseLogits = base[outName].data as Float32Array;
    const C = Number(base[outName].dims[1]);
    const baseFeeds = Object.fromEntries(
      frozen.base.map((b, i) => [b, base[witnessed.witnesses[i]]]),
    );
    /** Frozen logits at x + t·v, and how many witnesses differ from x's. */
    const frozenAt = async (v: Float32Array) => {
      const r = await fs.run({ [inName]: new ort.Tensor("float32", v, dims), ...baseFeeds });
      let crossed = 0;
      frozen.witnesses.forEach((w, i) => {
        const a = r[w].data, b = base[witnessed.witnesses[i]].data;
        for (let j = 0; j < a.length; j++) if (a[j] !== b[j]) crossed++;
      });
      return { logits: r[outName].data as Float32Array, crossed };
    };
    // Each row's own top class: the class explanations ask about.
    const cls = Array.from({ length: n }, (_, i) => {
      let b = 0;
      for (let c = 1; c < C; c++) if (baseLogits[i * C + c] > baseLogits[i * C + b]) b = c;
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
      const at = new Map<number, { f: number; crossed: number }>();
      for (const eps of new Set(o.eps.flatMap((e) => [e, -e]))) {
        const r = await frozenAt(x.map((xi, i) => xi + eps * v[i]));
        at.set(eps, { f: objective(r.logits), crossed: r.crossed });
      }
      let best: Omit<Direction, "analytic" | "kinkFree"> = {
        numeric: NaN,
        eps: NaN,
        stencil: "central",
        relError: Infinity,
        kinksCrossed: 0,
      };
      const consider = (numeric: number, eps: number, stencil: Stencil, steps: number[]) => {
        const relError = Math.abs(dot - numeric) /
          Math.max(Math.abs(dot), Math.abs(numeric), gnorm, 1e-12);
        if (relError < best.relError) {
          const kinksCrossed = steps.reduce((s, t) => s + at.get(t)!.crossed, 0);
          best = { numeric, eps, stencil, relError, kinksCrossed };
        }
      };
      for (const e of o.eps) {
        const f = (t: number) => at.get(t)!.f;
        consider((f(e) - f(-e)) / (2 * e), e, "central", [e, -e]);
        if (at.has(2 * e)) {
          const five = (f(-2 * e) - 8 * f(-e) + 8 * f(e) - f(2 * e)) / (12 * e);
          consider(five, e, "five-point", [e, -e, 2 * e, -2 * e]);
        }
      }
      perDirection.push({ analytic: dot, ...best, kinkFree: best.kinksCrossed === 0 });
    }
    const worstRelError = Math.max(...perDirection.map((d) => d.relError));
    return {
      model: typeof modelSource === "string" ? modelSource : "<model>",
      target: o.target,
      passed: worstRelError <= o.threshold,
      threshold: o.threshold,
      worstRelError,
      kinkFreeFraction: perDirection.filter((d) => d.kinkFree).length / perDirection.length,
      perDirection,
      kinks: { frozen: frozen.watched, notFrozen: frozen.unwatched },
      checked: quantized ? "float surrogate of a quantised model" : "model",
      ops,
      gradNodes: nodes,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await gs.release();
    await ws.release();
    await fs.release();
  }
}
