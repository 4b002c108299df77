/** VJPs of MatMul (batched, broadcasting, numpy semantics) and Gemm. */
import { getAttr } from "../builder.ts";
import type { Dim, GradContext } from "./context.ts";
import type { RuleTable } from "./rule.ts";

/** Swaps the last two axes of a tensor of rank `rank` (≥ 2). */
function swapLast(ctx: GradContext, t: string, rank: number): string {
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return ctx.op("Transpose", [t], { perm });
}

/** A 2-D initializer transposed into a new initializer, or undefined when `w` is not one. */
function transposedInitializer(ctx: GradContext, w: string): string | undefined {
  const t = ctx.initializerValue(w);
  if (!t || t.dims.length !== 2) return undefined;
  const [r, c] = t.dims;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
  return ctx.f32(out, [c, r]);
}

export const matmulRules: RuleTable = {
  MatMul: {
    diff: [0, 1],
    vjp: (ctx, n, [g], needs) => {
      const [a, b] = n.input!;
      const y = n.output![0];
      // Ranks are needed only for the transposes each gradient uses.
      const ra = needs[1] ? ctx.rank(a, n) : ctx.dims(a)?.length ?? 2;
      const rb = ctx.rank(b, n);
      const yd = ctx.dims(y);
      if (ra < 2) {
        if (needs[0]) {
          throw new Error(`MatMul node "${n.name}": gradient for a 1-D left operand unsupported`);
        }
        return [undefined, undefined];
      }
      if (rb === 1) {
        // y[..., m] = Σ_k a[..., m, k] b[k]
        if (needs[1]) {
          throw new Error(`MatMul node "${n.name}": gradient for a 1-D right operand unsupported`);
        }
        const ga = ctx.mul(ctx.unsqueeze(g!, [-1]), b);
        const gd: Dim[] | undefined = yd && [...yd, ctx.dims(b)![0]];
        return [ctx.reduceTo(ga, gd, a), undefined];
      }
      const ad = ctx.dims(a);
      const bd = ctx.dims(b)!;
      const batch = yd?.slice(0, yd.length - 2);
      let ga: string | undefined;
      let gb: string | undefined;
      if (needs[0]) {
        const t = ctx.op("MatMul", [g!, swapLast(ctx, b, rb)]);
        ga = ctx.reduceTo(t, batch && ad && [...batch, ...ad.slice(-2)], a);
      }
      if (needs[1]) {
        const t = ctx.op("MatMul", [swapLast(ctx, a, ra), g!]);
        gb = ctx.reduceTo(t, batch && [...batch, ...bd.slice(-2)], b);
      }
      return [ga, gb];
    },
  },
  Gemm: {
    diff: [0, 1, 2],
    vjp: (ctx, n, [g], needs) => {
      const [a, b, c] = n.input!;
      const alpha = (getAttr(n, "alpha") as number | undefined) ?? 1;
      const beta = (getAttr(n, "beta") as number | undefined) ?? 1;
      const ta = (getAttr(n, "transA") as number | undefined) ?? 0;
      const tb = (getAttr(n, "transB") as number | undefined) ?? 0;
      const gemm = (p: string, q: string, transA: number, transB: number) =>
        ctx.op("Gemm", [p, q], { alpha, transA, transB }, { floatKeys: ["alpha"] });
      // g·B with a constant B stored [K, N] (transB 0) runs about 8x slower in onnxruntime than
      // the same product against B stored [N, K] (transB 1, the forward layout of a Linear), so
      // the transposed copy is made at build time.
      const bt = ta === 0 && tb === 1 ? transposedInitializer(ctx, b) : undefined;
      const ga = needs[0]
        ? (bt ? gemm(g!, bt, 0, 1) : ta === 0 ? gemm(g!, b, 0, 1 - tb) : gemm(b, g!, tb, 1))
        : undefined;
      const gb = needs[1] ? (tb === 0 ? gemm(a, g!, 1 - ta, 0) : gemm(g!, a, 1, ta)) : undefined;
      const gc = needs[2] && c
        ? ctx.reduceTo(beta === 1 ? g! : ctx.mul(g!, ctx.f32(beta)), n.output![0], c)
        : undefined;
      return [ga, gb, gc];
    },
  },
};
