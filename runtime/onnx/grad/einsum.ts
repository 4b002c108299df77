/**
 * VJP of Einsum (MaxViT's attention exports its batched matmuls as `BGHID,BGHJD->BGHIJ` and
 * `BGHIJ,BGHJD->BGHID`). The gradient of operand k is itself an Einsum: the output gradient
 * contracted with the other operands onto operand k's subscripts. An index that only operand k
 * has is summed out in the forward pass, so its gradient is constant along it: that axis is
 * left out of the backward Einsum and restored by Unsqueeze + Expand. Batched matrix products
 * are emitted as Transpose + MatMul.
 *
 * Supported: explicit (`->`) and implicit equations over letters, any number of operands.
 * Unsupported, with an error naming the equation: ellipsis (`...`) and an index repeated within
 * one operand or the output (diagonals, traces).
 */
import { getAttr } from "../builder.ts";
import type { Dim, GradContext } from "./context.ts";
import type { RuleTable } from "./rule.ts";

export interface EinsumEquation {
  /** Subscripts of each operand, one letter per axis. */
  inputs: string[];
  /** Subscripts of the output. */
  output: string;
}

/**
 * Parses an Einsum equation (spaces ignored); the implicit form's output is the letters that
 * occur once, in ASCII order as numpy has it (onnxruntime takes only lower case there). Throws on
 * forms the VJP does not support.
 */
export function parseEinsum(equation: string): EinsumEquation {
  const eq = equation.replace(/\s+/g, "");
  const fail = (why: string): never => {
    throw new Error(`Einsum "${equation}": ${why} is not supported by the gradient builder`);
  };
  if (eq.includes(".")) fail("an ellipsis (...)");
  const m = /^([A-Za-z,]*)(?:->([A-Za-z]*))?$/.exec(eq);
  if (!m) fail("this equation syntax");
  const inputs = m![1].split(",");
  let output = m![2];
  if (output === undefined) {
    const counts = new Map<string, number>();
    for (const c of inputs.join("")) counts.set(c, (counts.get(c) ?? 0) + 1);
    output = [...counts].filter(([, k]) => k === 1).map(([c]) => c).sort().join("");
  }
  for (const s of [...inputs, output]) {
    if (new Set(s).size !== s.length) fail(`the repeated index in "${s}"`);
  }
  const all = new Set(inputs.join(""));
  for (const c of output) if (!all.has(c)) fail(`output index "${c}" missing from the operands`);
  return { inputs, output };
}

/**
 * Extents of the gradient of an operand with subscripts `sub`, before un-broadcasting: the
 * largest extent of each index among the tensors the backward Einsum reads (1 for an index only
 * the operand has); undefined when a shape is unknown.
 */
function extents(
  ctx: GradContext,
  sub: string,
  subs: string[],
  tensors: string[],
): Dim[] | undefined {
  const extent = new Map<string, Dim>();
  for (let t = 0; t < subs.length; t++) {
    const d = ctx.dims(tensors[t]);
    if (!d || d.length !== subs[t].length) return undefined;
    [...subs[t]].forEach((c, i) => {
      const e = extent.get(c);
      if (e === undefined || e === 1) extent.set(c, d[i]);
    });
  }
  return [...sub].map((c) => extent.get(c) ?? 1);
}

/** Permutes `t` (subscripts `from`) to subscripts `to`; no node when they are equal. */
function permute(ctx: GradContext, t: string, from: string, to: string): string {
  return from === to ? t : ctx.op("Transpose", [t], { perm: [...to].map((c) => from.indexOf(c)) });
}

/**
 * Einsum of two operands as Transpose + MatMul when it is a batched matrix product with one row,
 * one contracted and one column index (MaxViT's forms, whose gradients are again such products:
 * at MaxViT-T's first-stage shapes 2.2x faster than onnxruntime's Einsum on CPU), else Einsum.
 */
function einsum(ctx: GradContext, subs: string[], out: string, xs: string[]): string {
  if (subs.length === 2) {
    const [a, b] = subs;
    const batch = [...out].filter((c) => a.includes(c) && b.includes(c)).join("");
    const m = [...a].filter((c) => out.includes(c) && !b.includes(c));
    const n = [...b].filter((c) => out.includes(c) && !a.includes(c));
    const k = [...a].filter((c) => b.includes(c) && !out.includes(c));
    // One index in each role and none summed within one operand.
    if (
      m.length === 1 && n.length === 1 && k.length === 1 &&
      a.length + b.length === 2 * batch.length + 4
    ) {
      const y = ctx.op("MatMul", [
        permute(ctx, xs[0], a, batch + m + k),
        permute(ctx, xs[1], b, batch + k + n),
      ]);
      return permute(ctx, y, batch + m + n, out);
    }
  }
  return ctx.op("Einsum", xs, { equation: `${subs.join(",")}->${out}` });
}

export const einsumRules: RuleTable = {
  Einsum: {
    diff: [...Array(64).keys()],
    vjp: (ctx, n, [g], needs) => {
      const equation = getAttr(n, "equation") as string;
      const { inputs, output } = parseEinsum(equation);
      const xs = n.input!;
      const y = n.output![0];
      if (xs.length !== inputs.length) {
        throw new Error(
          `Einsum node "${n.name}": equation "${equation}" has ${inputs.length} operands, ` +
            `the node ${xs.length}`,
        );
      }
      return xs.map((x, k) => {
        if (!needs[k]) return undefined;
        const others = inputs.filter((_, j) => j !== k);
        const seen = new Set(output + others.join(""));
        // Operand k's axes that reach the output or another operand, in its own order.
        const kept = [...inputs[k]].filter((c) => seen.has(c)).join("");
        const rest = xs.filter((_, j) => j !== k);
        let gk = einsum(ctx, [output, ...others], kept, [g!, ...rest]);
        const dropped = [...inputs[k]].flatMap((c, axis) => (seen.has(c) ? [] : [axis]));
        if (dropped.length) gk = ctx.unsqueeze(gk, dropped);
        // Einsum broadcasts an extent of 1 against the others' (onnxruntime and torch do), so
        // such an axis of operand k sums its gradient.
        gk = ctx.reduceTo(gk, extents(ctx, inputs[k], [output, ...others], [y, ...rest]), x);
        return dropped.length ? ctx.op("Expand", [gk, ctx.shapeOf(x)]) : gk;
      });
    },
  },
};
