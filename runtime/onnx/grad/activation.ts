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

/** 2^64: any float at least 2^−64 beyond a bound scales to at least 1. */
export const STEP_SCALE = 2 ** 64;

/**
 * The 0/1 mask lo < y < hi of a ReLU or Clip output y (a bound may be absent), as HardSigmoids
 * clip(±B·(y − bound), 0, 1) with B = 2^64, or undefined when a bound times B is not a finite
 * float. One op per bound, where a comparison took two (it writes booleans a Cast then turns into
 * floats), and read from y alone, so the forward's Conv can fuse its Clip (ReLU6) again and y need
 * not be copied out of onnxruntime's blocked layout and back. B·y and B·bound are exact (B is a
 * power of two), so the one rounding of their difference keeps it ≥ 1 wherever y is at least
 * 2^−64 inside the bound and ≤ 0 outside: the mask is exactly 0 or 1 except within 5e-20 of a
 * kink, and on the bound itself it is 0 (torch's ReLU6 / hardtanh backward), where the Equal mask
 * passed the gradient (torch's clamp backward).
 */
export function outputStepMask(
  ctx: GradContext,
  y: string,
  lo: number | undefined,
  hi: number | undefined,
): string | undefined {
  const ok = (v: number | undefined) =>
    v === undefined ||
    (Number.isFinite(v) && Math.abs(Math.fround(v)) * STEP_SCALE < 3.4e38 && Math.fround(v) === v);
  if (!ok(lo) || !ok(hi) || (lo !== undefined && hi !== undefined && !(lo < hi))) return undefined;
  const step = (alpha: number, beta: number) =>
    ctx.op("HardSigmoid", [y], { alpha, beta }, { floatKeys: ["alpha", "beta"] });
  const above = lo === undefined ? undefined : step(STEP_SCALE, -STEP_SCALE * lo);
  const below = hi === undefined ? undefined : step(-STEP_SCALE, STEP_SCALE * hi);
  return above && below ? ctx.mul(above, below) : (above ?? below);
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
    vjp: (ctx, n, [g]) => [ctx.mul(g!, outputStepMask(ctx, n.output![0], 0, undefined)!)],
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
    // Constant bounds: the mask from the output (outputStepMask). Others: y == x inside the
    // range (there the gradient passes on the boundary itself, as in torch's clamp backward).
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const [x, lo, hi] = n.input!;
      const bound = (name: string | undefined) => {
        if (!name) return undefined;
        const v = ctx.constValue(name);
        return v && v.data.length === 1 ? v.data[0] : NaN;
      };
      const [l, h] = [bound(lo), bound(hi)];
      if (!Number.isNaN(l) && !Number.isNaN(h)) {
        if (l === undefined && h === undefined) return [g];
        const mask = outputStepMask(ctx, n.output![0], l, h);
        if (mask) return [ctx.mul(g!, mask)];
      }
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
