/**
 * VJPs of elementwise arithmetic (with numpy broadcasting): the gradient reaching each operand is
 * summed back to its own shape by `ctx.reduceTo`.
 */
import { getAttr } from "../builder.ts";
import type { RuleTable } from "./rule.ts";

const SQRT_PI_INV2 = 2 / Math.sqrt(Math.PI);

export const elementwiseRules: RuleTable = {
  Add: {
    diff: [0, 1],
    vjp: (ctx, n, [g], needs) => {
      const [a, b] = n.input!;
      const y = n.output![0];
      return [
        needs[0] ? ctx.reduceTo(g!, y, a) : undefined,
        needs[1] ? ctx.reduceTo(g!, y, b) : undefined,
      ];
    },
  },
  Sub: {
    diff: [0, 1],
    vjp: (ctx, n, [g], needs) => {
      const [a, b] = n.input!;
      const y = n.output![0];
      return [
        needs[0] ? ctx.reduceTo(g!, y, a) : undefined,
        needs[1] ? ctx.reduceTo(ctx.neg(g!), y, b) : undefined,
      ];
    },
  },
  Mul: {
    diff: [0, 1],
    vjp: (ctx, n, [g], needs) => {
      const [a, b] = n.input!;
      const y = n.output![0];
      return [
        needs[0] ? ctx.reduceTo(ctx.mul(g!, b), y, a) : undefined,
        needs[1] ? ctx.reduceTo(ctx.mul(g!, a), y, b) : undefined,
      ];
    },
  },
  Div: {
    diff: [0, 1],
    vjp: (ctx, n, [g], needs) => {
      const [a, b] = n.input!;
      const y = n.output![0];
      const ga = needs[0] || needs[1] ? ctx.div(g!, b) : undefined;
      return [
        needs[0] ? ctx.reduceTo(ga!, y, a) : undefined,
        needs[1] ? ctx.reduceTo(ctx.neg(ctx.mul(ga!, y)), y, b) : undefined,
      ];
    },
  },
  Pow: {
    diff: [0, 1],
    vjp: (ctx, n, [g], needs) => {
      const [a, b] = n.input!;
      const y = n.output![0];
      let ga: string | undefined;
      if (needs[0]) {
        const e = ctx.constValue(b);
        // d/da a^b = b a^(b-1); the common constant exponent 2 avoids a Pow.
        const d = e && e.data.length === 1 && e.data[0] === 2
          ? ctx.mul(a, ctx.f32(2))
          : e && e.data.length === 1 && e.data[0] === 1
          ? undefined
          : ctx.mul(b, ctx.op("Pow", [a, ctx.sub(b, ctx.f32(1))]));
        ga = ctx.reduceTo(d ? ctx.mul(g!, d) : g!, y, a);
      }
      const gb = needs[1]
        ? ctx.reduceTo(ctx.mul(g!, ctx.mul(y, ctx.op("Log", [a]))), y, b)
        : undefined;
      return [ga, gb];
    },
  },
  Neg: { diff: [0], vjp: (ctx, _n, [g]) => [ctx.neg(g!)] },
  Identity: { diff: [0], vjp: (_ctx, _n, [g]) => [g] },
  Sqrt: {
    // d sqrt(x) = 1 / (2 sqrt(x))
    diff: [0],
    vjp: (ctx, n, [g]) => [ctx.div(g!, ctx.mul(n.output![0], ctx.f32(2)))],
  },
  Reciprocal: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const y = n.output![0];
      return [ctx.neg(ctx.mul(g!, ctx.mul(y, y)))];
    },
  },
  Exp: { diff: [0], vjp: (ctx, n, [g]) => [ctx.mul(g!, n.output![0])] },
  Log: { diff: [0], vjp: (ctx, n, [g]) => [ctx.div(g!, n.input![0])] },
  Abs: { diff: [0], vjp: (ctx, n, [g]) => [ctx.mul(g!, ctx.op("Sign", [n.input![0]]))] },
  Erf: {
    // d erf(x) = 2/sqrt(pi) exp(-x^2) = exp(ln(2/sqrt(pi)) - x^2): one full-size op fewer.
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const x = n.input![0];
      const e = ctx.op("Exp", [ctx.sub(ctx.f32(Math.log(SQRT_PI_INV2)), ctx.mul(x, x))]);
      return [ctx.mul(g!, e)];
    },
  },
  Sum: {
    diff: [...Array(64).keys()],
    vjp: (ctx, n, [g], needs) =>
      n.input!.map((x, i) => needs[i] ? ctx.reduceTo(g!, n.output![0], x) : undefined),
  },
  Mean: {
    diff: [...Array(64).keys()],
    vjp: (ctx, n, [g], needs) => {
      const s = ctx.div(g!, ctx.f32(n.input!.length));
      return n.input!.map((x, i) => needs[i] ? ctx.reduceTo(s, n.output![0], x) : undefined);
    },
  },
  Max: { diff: [...Array(64).keys()], vjp: (ctx, n, g, needs) => minMax(ctx, n, g[0]!, needs) },
  Min: { diff: [...Array(64).keys()], vjp: (ctx, n, g, needs) => minMax(ctx, n, g[0]!, needs) },
  Where: {
    diff: [1, 2],
    vjp: (ctx, n, [g], needs) => {
      const [c, a, b] = n.input!;
      const y = n.output![0];
      const zero = ctx.f32(0);
      return [
        undefined,
        needs[1] ? ctx.reduceTo(ctx.op("Where", [c, g!, zero]), y, a) : undefined,
        needs[2] ? ctx.reduceTo(ctx.op("Where", [c, zero, g!]), y, b) : undefined,
      ];
    },
  },
  Cast: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const to = getAttr(n, "to");
      if (to !== 1) {
        throw new Error(`Cast node "${n.name}": gradients only flow through casts to float32`);
      }
      void ctx;
      return [g];
    },
  },
};

/** Max/Min route the gradient to the operands equal to the result, split evenly among ties. */
function minMax(
  ctx: Parameters<RuleTable[string]["vjp"]>[0],
  n: Parameters<RuleTable[string]["vjp"]>[1],
  g: string,
  needs: boolean[],
): (string | undefined)[] {
  const y = n.output![0];
  const zero = ctx.f32(0);
  const masks = n.input!.map((x) => ctx.op("Equal", [x, y]));
  const ones = masks.map((m) => ctx.op("Cast", [m], { to: 1 }));
  const share = ones.length > 1 ? ctx.div(g, ctx.op("Sum", ones)) : g;
  return n.input!.map((x, i) =>
    needs[i] ? ctx.reduceTo(ctx.op("Where", [masks[i], share, zero]), y, x) : undefined
  );
}
