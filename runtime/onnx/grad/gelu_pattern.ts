/**
 * torch exports erf-GELU at opset < 20 as five nodes, y = (x · (erf(x / √2) + 1)) · 0.5.
 * Differentiated node by node that costs nine full-size backward ops on the MLP's widest tensor;
 * as one function, d y/d x = 0.5·(erf(x/√2) + 1) + x·φ(x), reusing the forward's x/√2 and
 * erf + 1, it costs seven.
 */
import type { NodeProto } from "../proto.ts";
import type { GradContext } from "./context.ts";
import type { ConstValue } from "./tensor.ts";

/** One exported GELU: its input, the forward's a = x/√2 and b = erf(a) + 1. */
export interface GeluPattern {
  x: string;
  a: string;
  b: string;
}

const LN_INV_SQRT_2PI = -0.5 * Math.log(2 * Math.PI);

/**
 * The exported GELUs among `nodes`, keyed by their last node (the `· 0.5`). Only patterns whose
 * intermediates feed nothing else qualify, so no other node misses a gradient.
 */
export function findGeluPatterns(
  nodes: readonly NodeProto[],
  constValue: (name: string) => ConstValue | undefined,
  graphOutputs: ReadonlySet<string>,
): Map<NodeProto, GeluPattern> {
  const producer = new Map<string, NodeProto>();
  const uses = new Map<string, number>();
  for (const n of nodes) {
    for (const o of n.output ?? []) producer.set(o, n);
    for (const i of n.input ?? []) uses.set(i, (uses.get(i) ?? 0) + 1);
  }
  const scalar = (name: string, v: number) => {
    const c = constValue(name);
    return c !== undefined && c.data.length === 1 && Math.abs(c.data[0] - v) <= 1e-6 * Math.abs(v);
  };
  const only = (t: string) => uses.get(t) === 1 && !graphOutputs.has(t);
  const op = (t: string, type: string) => {
    const n = producer.get(t);
    return n && n.opType === type && (!n.domain || n.domain === "ai.onnx") ? n : undefined;
  };
  /** The operand of a binary node other than the scalar constant `v`, if one is that constant. */
  const other = (n: NodeProto, v: number) => {
    const [p, q] = n.input!;
    return scalar(q, v) ? p : scalar(p, v) ? q : undefined;
  };
  const found = new Map<NodeProto, GeluPattern>();
  for (const last of nodes) {
    if (last.opType !== "Mul" || (last.domain && last.domain !== "ai.onnx")) continue;
    const m = other(last, 0.5);
    const mul = m !== undefined && only(m) ? op(m, "Mul") : undefined;
    if (!mul) continue;
    for (const [x, b] of [mul.input!, [...mul.input!].reverse()]) {
      const add = only(b) ? op(b, "Add") : undefined;
      const e = add && other(add, 1);
      const erf = e !== undefined && only(e) ? op(e, "Erf") : undefined;
      const a = erf ? erf.input![0] : undefined;
      const div = a !== undefined ? op(a, "Div") : undefined;
      if (!div || div.input![0] !== x || !scalar(div.input![1], Math.SQRT2)) continue;
      found.set(last, { x, a: a!, b });
      break;
    }
  }
  return found;
}

/** g · (0.5·b + x·φ(x)), φ(x) = exp(−a²)/√(2π), a = x/√2, b = erf(a) + 1. */
export function geluPatternGrad(ctx: GradContext, g: string, p: GeluPattern): string {
  const phi = ctx.op("Exp", [ctx.sub(ctx.f32(LN_INV_SQRT_2PI), ctx.mul(p.a, p.a))]);
  const d = ctx.add(ctx.mul(p.b, ctx.f32(0.5)), ctx.mul(p.x, phi));
  return ctx.mul(g, d);
}
