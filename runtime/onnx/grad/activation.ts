/** VJPs of pointwise activations and of Softmax/LogSoftmax along one axis. */
import { getAttr } from "../builder.ts";
import type { NodeProto } from "../proto.ts";
import type { GradContext } from "./context.ts";
import type { RuleTable } from "./rule.ts";

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** g where `mask`, else 0 (Cast + Mul: onnxruntime's Where with a scalar branch is slower). */
function gate(ctx: GradContext, mask: string, g: string): string {
  return ctx.mul(g, ctx.op("Cast", [mask], { to: 1 }));
}

/** Derivative of exact GELU x·Φ(x): Φ(x) + x·φ(x). */
function geluErfDerivative(ctx: GradContext, x: string): string {
  const cdf = ctx.mul(
    ctx.add(ctx.op("Erf", [ctx.mul(x, ctx.f32(Math.SQRT1_2))]), ctx.f32(1)),
    ctx.f32(0.5),
  );
  const pdf = ctx.mul(
    ctx.op("Exp", [ctx.mul(ctx.mul(x, x), ctx.f32(-0.5))]),
    ctx.f32(INV_SQRT_2PI),
  );
  return ctx.add(cdf, ctx.mul(x, pdf));
}

/** Derivative of tanh-approximated GELU 0.5x(1+tanh(u)), u = √(2/π)(x + 0.044715x³). */
function geluTanhDerivative(ctx: GradContext, x: string): string {
  const x2 = ctx.mul(x, x);
  const inner = ctx.add(ctx.f32(1), ctx.mul(x2, ctx.f32(0.044715)));
  const u = ctx.mul(ctx.mul(x, inner), ctx.f32(SQRT_2_OVER_PI));
  const t = ctx.op("Tanh", [u]);
  const du = ctx.mul(
    ctx.add(ctx.f32(1), ctx.mul(x2, ctx.f32(3 * 0.044715))),
    ctx.f32(SQRT_2_OVER_PI),
  );
  const sech2 = ctx.sub(ctx.f32(1), ctx.mul(t, t));
  return ctx.mul(ctx.add(ctx.add(ctx.f32(1), t), ctx.mul(ctx.mul(x, sech2), du)), ctx.f32(0.5));
}

function softmaxAxis(n: NodeProto): number {
  return (getAttr(n, "axis") as number | undefined) ?? -1;
}

export const activationRules: RuleTable = {
  Relu: {
    diff: [0],
    vjp: (ctx, n, [g]) => [gate(ctx, ctx.op("Greater", [n.output![0], ctx.f32(0)]), g!)],
  },
  LeakyRelu: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const alpha = (getAttr(n, "alpha") as number | undefined) ?? 0.01;
      const pos = ctx.op("Greater", [n.input![0], ctx.f32(0)]);
      return [ctx.op("Where", [pos, g!, ctx.mul(g!, ctx.f32(alpha))])];
    },
  },
  Sigmoid: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const y = n.output![0];
      return [ctx.mul(g!, ctx.mul(y, ctx.sub(ctx.f32(1), y)))];
    },
  },
  Tanh: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const y = n.output![0];
      return [ctx.mul(g!, ctx.sub(ctx.f32(1), ctx.mul(y, y)))];
    },
  },
  Softplus: {
    diff: [0],
    vjp: (ctx, n, [g]) => [ctx.mul(g!, ctx.op("Sigmoid", [n.input![0]]))],
  },
  Gelu: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const approx = (getAttr(n, "approximate") as string | undefined) ?? "none";
      const x = n.input![0];
      const d = approx === "tanh" ? geluTanhDerivative(ctx, x) : geluErfDerivative(ctx, x);
      return [ctx.mul(g!, d)];
    },
  },
  "com.microsoft:Gelu": {
    diff: [0],
    vjp: (ctx, n, [g]) => [ctx.mul(g!, geluErfDerivative(ctx, n.input![0]))],
  },
  Clip: {
    // Inside the range: y == x (2 ops instead of 4; the boundary itself has measure zero, and
    // there the gradient passes, as in torch's clamp backward).
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const [x, lo, hi] = n.input!;
      if (lo && hi) return [gate(ctx, ctx.op("Equal", [n.output![0], x]), g!)];
      let mask: string | undefined;
      if (lo) mask = ctx.op("Greater", [x, lo]);
      if (hi) {
        const below = ctx.op("Less", [x, hi]);
        mask = mask ? ctx.op("And", [mask, below]) : below;
      }
      return [mask ? gate(ctx, mask, g!) : g];
    },
  },
  HardSigmoid: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const alpha = (getAttr(n, "alpha") as number | undefined) ?? 0.2;
      const beta = (getAttr(n, "beta") as number | undefined) ?? 0.5;
      const z = ctx.add(ctx.mul(n.input![0], ctx.f32(alpha)), ctx.f32(beta));
      const inside = ctx.op("And", [
        ctx.op("Greater", [z, ctx.f32(0)]),
        ctx.op("Less", [z, ctx.f32(1)]),
      ]);
      return [gate(ctx, inside, ctx.mul(g!, ctx.f32(alpha)))];
    },
  },
  HardSwish: {
    // y = x·h(x), h = clip(x/6 + 1/2, 0, 1): dy/dx = x/3 + 1/2 on (-3, 3), else h (0 below, 1
    // above): seven full-size ops where the Greater/Where/Less/Not/Cast form took nine.
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const x = n.input![0];
      const inside = ctx.op("Less", [ctx.op("Abs", [x]), ctx.f32(3)]);
      const ramp = ctx.add(ctx.mul(x, ctx.f32(1 / 3)), ctx.f32(0.5));
      const h = ctx.op("HardSigmoid", [x], { alpha: 1 / 6, beta: 0.5 }, {
        floatKeys: ["alpha", "beta"],
      });
      return [ctx.mul(g!, ctx.op("Where", [inside, ramp, h]))];
    },
  },
  Softmax: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const y = n.output![0];
      const s = ctx.reduce("ReduceSum", ctx.mul(g!, y), [softmaxAxis(n)], true);
      return [ctx.mul(y, ctx.sub(g!, s))];
    },
  },
  LogSoftmax: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const y = n.output![0];
      const s = ctx.reduce("ReduceSum", g!, [softmaxAxis(n)], true);
      return [ctx.sub(g!, ctx.mul(ctx.op("Exp", [y]), s))];
    },
  },
};
