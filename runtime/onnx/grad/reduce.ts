/** VJPs of ReduceSum/ReduceMean: broadcast the gradient back over the reduced axes. */
import { getAttr } from "../builder.ts";
import type { NodeProto } from "../proto.ts";
import type { GradContext } from "./context.ts";
import type { RuleTable, VjpRule } from "./rule.ts";

/** The node's static axes (undefined = all axes), from the attribute or the constant input. */
function reduceAxes(ctx: GradContext, n: NodeProto): number[] | undefined {
  const attr = getAttr(n, "axes") as number[] | undefined;
  if (attr) return attr;
  const name = n.input![1];
  if (!name) return undefined;
  const v = ctx.constInts(name);
  if (!v) throw new Error(`${n.opType} node "${n.name}": axes input "${name}" is not constant`);
  return v;
}

function reduceRule(mean: boolean): VjpRule {
  return {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const x = n.input![0];
      const keep = ((getAttr(n, "keepdims") as number | undefined) ?? 1) === 1;
      let axes = reduceAxes(ctx, n);
      const noop = ((getAttr(n, "noop_with_empty_axes") as number | undefined) ?? 0) === 1;
      if (axes && axes.length === 0) {
        if (noop) return [g];
        axes = undefined;
      }
      let gk = g!;
      if (!keep && axes) gk = ctx.unsqueeze(gk, axes);
      if (mean) {
        const xd = ctx.dims(x);
        let count: string;
        if (xd && axes) {
          const ext = axes.map((a) => xd[a < 0 ? a + xd.length : a]);
          count = ext.every((d) => typeof d === "number")
            ? ctx.f32((ext as number[]).reduce((a, b) => a * b, 1))
            : ctx.div(ctx.count(x), ctx.count(n.output![0]));
        } else {
          count = ctx.div(ctx.count(x), ctx.count(n.output![0]));
        }
        gk = ctx.div(gk, count); // on the reduced tensor: the same values, far fewer of them
      }
      const gx = ctx.op("Expand", [gk, ctx.shapeOf(x)]);
      return [gx];
    },
  };
}

export const reduceRules: RuleTable = {
  ReduceSum: reduceRule(false),
  ReduceMean: reduceRule(true),
};
