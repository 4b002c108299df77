/**
 * torch exports erf-GELU at opset < 20 as five nodes, y = (x · (erf(x / √2) + 1)) · 0.5.
 * Differentiated node by node that costs nine full-size backward ops on the MLP's widest tensor;
 * as one function, d y/d x = 0.5·(erf(x/√2) + 1) + x·φ(x), reusing the forward's x/√2 and
 * erf + 1, it costs seven. When the GELU feeds one Conv, MatMul or Gemm, `foldGeluHalves` first
 * moves the `· 0.5` into that node's weights (exact: halving a float is), which leaves
 * m = x · (erf(x/√2) + 1) with d m/d x = (erf(x/√2) + 1) + x·√(2/π)·exp(−x²/2): one op fewer in
 * the forward and one in the backward.
 */
import { consumersOf, floatTensor, isDefaultDomain } from "../builder.ts";
import type { NodeProto, TensorProto } from "../proto.ts";
import type { GradContext } from "./context.ts";
import { type ConstValue, readTensor } from "./tensor.ts";

/**
 * One exported GELU: its input, the forward's a = x/√2 and b = erf(a) + 1; `half` when the
 * pattern ends in the `· 0.5` (else the half was folded into the consumer and it ends in x · b).
 */
export interface GeluPattern {
  x: string;
  a: string;
  b: string;
  half: boolean;
}

const LN_INV_SQRT_2PI = -0.5 * Math.log(2 * Math.PI);
const LN_SQRT_2_OVER_PI = 0.5 * Math.log(2 / Math.PI);

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
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const consumers = consumersOf(nodes);
  const scalar = (name: string, v: number) => {
    const c = constValue(name);
    return c !== undefined && c.data.length === 1 && Math.abs(c.data[0] - v) <= 1e-6 * Math.abs(v);
  };
  const only = (t: string) => consumers.get(t)?.length === 1 && !graphOutputs.has(t);
  const op = (t: string, type: string) => {
    const n = producer.get(t);
    return n && n.opType === type && isDefaultDomain(n) ? n : undefined;
  };
  /** The operand of a binary node other than the scalar constant `v`, if one is that constant. */
  const other = (n: NodeProto, v: number) => {
    const [p, q] = n.input!;
    return scalar(q, v) ? p : scalar(p, v) ? q : undefined;
  };
  /** x · (erf(x/√2) + 1) at node `mul`, in either operand order. */
  const core = (mul: NodeProto): { x: string; a: string; b: string } | undefined => {
    for (const [x, b] of [mul.input!, [...mul.input!].reverse()]) {
      const add = only(b) ? op(b, "Add") : undefined;
      const e = add && other(add, 1);
      const erf = e !== undefined && only(e) ? op(e, "Erf") : undefined;
      const a = erf ? erf.input![0] : undefined;
      const div = a !== undefined ? op(a, "Div") : undefined;
      if (div && div.input![0] === x && scalar(div.input![1], Math.SQRT2)) return { x, a: a!, b };
    }
    return undefined;
  };
  const found = new Map<NodeProto, GeluPattern>();
  for (const mul of nodes) {
    if (mul.opType !== "Mul" || !isDefaultDomain(mul)) continue;
    const c = core(mul);
    if (!c) continue;
    const m = mul.output![0];
    const next = only(m) ? consumers.get(m)![0] : undefined;
    const halves = next && next.opType === "Mul" && isDefaultDomain(next) && other(next, 0.5) === m;
    if (halves) found.set(next, { ...c, half: true });
    else found.set(mul, { ...c, half: false });
  }
  return found;
}

/**
 * Moves each exported GELU's final `· 0.5` into the float weights (input 1) of its only consumer,
 * a Conv, MatMul or Gemm that takes the GELU as input 0: conv(0.5·m, W) = conv(m, 0.5·W) bit
 * for bit, since every product and partial sum is exactly halved. Returns the rewritten nodes
 * and the halved weights (new initializers; the originals stay for any other user).
 */
export function foldGeluHalves(
  nodes: readonly NodeProto[],
  constValue: (name: string) => ConstValue | undefined,
  tensors: ReadonlyMap<string, TensorProto>,
  graphOutputs: ReadonlySet<string>,
  fresh: (hint: string) => string,
): { nodes: NodeProto[]; initializers: TensorProto[] } {
  const consumers = consumersOf(nodes);
  const drop = new Set<NodeProto>();
  const rewired = new Map<NodeProto, NodeProto>();
  const initializers: TensorProto[] = [];
  for (const [last, p] of findGeluPatterns(nodes, constValue, graphOutputs)) {
    if (!p.half) continue;
    const y = last.output![0];
    const users = consumers.get(y) ?? [];
    if (users.length !== 1 || graphOutputs.has(y)) continue;
    const user = users[0];
    const w = user.input?.[1];
    const weight = w !== undefined ? tensors.get(w) : undefined;
    if (
      !["Conv", "MatMul", "Gemm"].includes(user.opType!) ||
      !isDefaultDomain(user) || user.input![0] !== y ||
      user.input!.indexOf(y, 1) !== -1 || !weight || weight.dataType !== 1
    ) continue;
    const v = readTensor(weight);
    const halved = floatTensor(fresh("half_weights"), v.dims, v.data.map((d) => d * 0.5));
    initializers.push(halved);
    const m = last.input!.find((i) => !constValue(i))!;
    rewired.set(user, { ...user, input: [m, halved.name!, ...user.input!.slice(2)] });
    drop.add(last);
  }
  return {
    nodes: nodes.filter((n) => !drop.has(n)).map((n) => rewired.get(n) ?? n),
    initializers,
  };
}

/**
 * g · (0.5·b + x·φ(x)) for the whole GELU, g · (b + 2x·φ(x)) for x · b (its half folded away);
 * φ(x) = exp(−a²)/√(2π), a = x/√2, b = erf(a) + 1.
 */
export function geluPatternGrad(ctx: GradContext, g: string, p: GeluPattern): string {
  const c = p.half ? LN_INV_SQRT_2PI : LN_SQRT_2_OVER_PI;
  const phi = ctx.op("Exp", [ctx.sub(ctx.f32(c), ctx.mul(p.a, p.a))]);
  const b = p.half ? ctx.mul(p.b, ctx.f32(0.5)) : p.b;
  return ctx.mul(g, ctx.add(b, ctx.mul(p.x, phi)));
}
