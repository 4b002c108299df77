/**
 * SiLU (Swish) as torch exports it: s = Sigmoid(x), y = x · s. Differentiated node by node that is
 * six full-size backward ops (g·s, g·x, 1 − s, s·(1 − s), their product, the Sum of x's two
 * gradients); as one function, d y/d x = s + x·s·(1 − s) = s + y·σ(−x), reusing the forward's s
 * and y, it is three, plus σ(−x) as a 1x1 depthwise Conv with weight −1 and a fused Sigmoid
 * where the layout allows, which onnxruntime runs in its blocked layout like the Muls around it
 * (see ./step_mask.ts). σ(−x) rather than 1 − s also keeps the derivative accurate for large x.
 */
import { consumersOf, isDefaultDomain } from "../builder.ts";
import type { NodeProto } from "../proto.ts";
import type { GradContext } from "./context.ts";

/** One exported SiLU: its input, the Sigmoid output and the product. */
export interface SiluPattern {
  x: string;
  s: string;
  y: string;
}

/**
 * The SiLUs among `nodes`, keyed by their Mul. Only Sigmoids whose output feeds that Mul alone
 * (and is no graph output) qualify, so no other node misses a gradient.
 */
export function findSiluPatterns(
  nodes: readonly NodeProto[],
  graphOutputs: ReadonlySet<string>,
): Map<NodeProto, SiluPattern> {
  const producer = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const consumers = consumersOf(nodes);
  const found = new Map<NodeProto, SiluPattern>();
  for (const mul of nodes) {
    if (mul.opType !== "Mul" || !isDefaultDomain(mul) || mul.input?.length !== 2) continue;
    for (const [x, s] of [mul.input!, [...mul.input!].reverse()]) {
      const sig = producer.get(s);
      if (
        sig?.opType === "Sigmoid" && isDefaultDomain(sig) && sig.input![0] === x && x !== s &&
        consumers.get(s)?.length === 1 && !graphOutputs.has(s)
      ) {
        found.set(mul, { x, s, y: mul.output![0] });
        break;
      }
    }
  }
  return found;
}

/** σ(−x): a depthwise 1x1 Conv (weight −1) and Sigmoid for NCHW x with static channels. */
function sigmoidOfNegative(ctx: GradContext, x: string): string {
  const d = ctx.dims(x);
  if (d && d.length === 4 && typeof d[1] === "number") {
    const c = d[1];
    const w = ctx.f32(new Float32Array(c).fill(-1), [c, 1, 1, 1]);
    return ctx.op("Sigmoid", [ctx.op("Conv", [x, w], { kernel_shape: [1, 1], group: c })]);
  }
  return ctx.op("Sigmoid", [ctx.neg(x)]);
}

/** The gradient reaching x of a SiLU whose output gradient is `g`: g·(s + y·σ(−x)). */
export function siluPatternGrad(ctx: GradContext, g: string, p: SiluPattern): string {
  return ctx.mul(g, ctx.add(p.s, ctx.mul(p.y, sigmoidOfNegative(ctx, p.x))));
}
