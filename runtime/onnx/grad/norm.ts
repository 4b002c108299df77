/**
 * VJPs of normalisation layers. Inference-mode BatchNormalization is a per-channel affine map;
 * InstanceNormalization recomputes x̂ and 1/σ (LayerNormalization takes them from one fused
 * LayerNormalization node, or from the forward node itself when norm_fold.ts moved its affine
 * into the next layer) and both use the standard
 * dx = (1/σ)·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), ĝ = g·scale, means over the normalised axes.
 */
import { getAttr } from "../builder.ts";
import type { GradContext } from "./context.ts";
import type { RuleTable } from "./rule.ts";

/** Whether `name` is a known constant whose every value is `v`. */
function allEqual(ctx: GradContext, name: string | undefined, v: number): boolean {
  const c = name ? ctx.constValue(name) : undefined;
  return c !== undefined && c.data.every((d) => d === v);
}

/** (1/σ)·(gs − mean(gs) − x̂·mean(gs·x̂)) over `axes` (keepdims), recomputing x̂ from x. */
function normalizedGrad(
  ctx: GradContext,
  x: string,
  gs: string,
  axes: number[],
  eps: number,
): string {
  const mean = (t: string) => ctx.reduce("ReduceMean", t, axes, true);
  const d = ctx.sub(x, mean(x));
  const variance = mean(ctx.mul(d, d));
  const rstd = ctx.op("Reciprocal", [ctx.op("Sqrt", [ctx.add(variance, ctx.f32(eps))])]);
  const xhat = ctx.mul(d, rstd);
  return normalizedGradFrom(ctx, xhat, rstd, gs, axes);
}

/** (1/σ)·(gs − mean(gs) − x̂·mean(gs·x̂)) over `axes` (keepdims), given x̂ and 1/σ. */
function normalizedGradFrom(
  ctx: GradContext,
  xhat: string,
  rstd: string,
  gs: string,
  axes: number[],
): string {
  const mean = (t: string) => ctx.reduce("ReduceMean", t, axes, true);
  const inner = ctx.sub(ctx.sub(gs, mean(gs)), ctx.mul(xhat, mean(ctx.mul(gs, xhat))));
  return ctx.mul(rstd, inner);
}

export const normRules: RuleTable = {
  BatchNormalization: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      if (((getAttr(n, "training_mode") as number | undefined) ?? 0) !== 0) {
        throw new Error(`BatchNormalization node "${n.name}": training mode is not supported`);
      }
      const [, scale, , , variance] = n.input!;
      const eps = (getAttr(n, "epsilon") as number | undefined) ?? 1e-5;
      // dx = g · scale/√(var+ε) per channel, applied by a BatchNormalization with unit stats.
      const factor = ctx.div(scale, ctx.op("Sqrt", [ctx.add(variance, ctx.f32(eps))]));
      const zeros = ctx.mul(factor, ctx.f32(0));
      const ones = ctx.add(zeros, ctx.f32(1));
      return [
        ctx.op("BatchNormalization", [g!, factor, zeros, zeros, ones], { epsilon: 0 }, {
          floatKeys: ["epsilon"],
        }),
      ];
    },
  },
  InstanceNormalization: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const [x, scale] = n.input!;
      const eps = (getAttr(n, "epsilon") as number | undefined) ?? 1e-5;
      const flat = ctx.i64([0, 0, -1]);
      const x3 = ctx.op("Reshape", [x, flat]);
      const g3 = ctx.op("Reshape", [g!, flat]);
      // torch's GroupNorm export runs InstanceNormalization with unit scale: skip the multiply.
      const gs = allEqual(ctx, scale, 1) ? g3 : ctx.mul(g3, ctx.unsqueeze(scale, [1]));
      const spatial = ctx.dims(x)?.slice(2);
      let gx3: string;
      if (spatial?.length && spatial.every((d) => typeof d === "number")) {
        // x̂ and 1/σ from one LayerNormalization over the flattened spatial axis (one fused
        // pass) instead of recomputing them element-wise.
        const L = (spatial as number[]).reduce((a, b) => a * b, 1);
        const [xhat, , rstd] = ctx.opN(
          "LayerNormalization",
          [x3, ctx.f32(new Array(L).fill(1)), ctx.f32(new Array(L).fill(0))],
          3,
          { axis: -1, epsilon: eps },
          { floatKeys: ["epsilon"] },
        );
        gx3 = normalizedGradFrom(ctx, xhat, rstd, gs, [2]);
      } else {
        gx3 = normalizedGrad(ctx, x3, gs, [2], eps);
      }
      return [ctx.op("Reshape", [gx3, ctx.shapeOf(x)])];
    },
  },
  LayerNormalization: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const [x, scale] = n.input!;
      const eps = (getAttr(n, "epsilon") as number | undefined) ?? 1e-5;
      let axis = (getAttr(n, "axis") as number | undefined) ?? -1;
      if (axis >= 0) axis -= ctx.rank(x, n);
      const axes = Array.from({ length: -axis }, (_, i) => axis + i);
      const [, , bias] = n.input!;
      let xhat: string, rstd: string, gs: string;
      if (n.output?.[2] && allEqual(ctx, scale, 1) && (!bias || allEqual(ctx, bias, 0))) {
        // Affine folded into the next layer (norm_fold.ts): the forward output is x̂ itself and
        // the node emits 1/σ.
        [xhat, rstd, gs] = [n.output[0], n.output[2], g!];
      } else {
        // x̂ and 1/σ from one LayerNormalization (unit scale, zero bias, its optional InvStdDev
        // output), which onnxruntime runs as one fused pass, instead of recomputing them in 8 ops.
        const zeros = ctx.mul(scale, ctx.f32(0));
        const ones = ctx.add(zeros, ctx.f32(1));
        const stash = (getAttr(n, "stash_type") as number | undefined) ?? 1;
        [xhat, , rstd] = ctx.opN("LayerNormalization", [x, ones, zeros], 3, {
          axis,
          epsilon: eps,
          stash_type: stash,
        }, { floatKeys: ["epsilon"] });
        gs = ctx.mul(g!, scale);
      }
      return [normalizedGradFrom(ctx, xhat, rstd, gs, axes)];
    },
  },
};
