/**
 * VJPs of pooling. MaxPool scatters the gradient to the argmax positions (MaxPool's Indices
 * output + ScatterElements with add, so overlapping windows accumulate); AveragePool spreads each
 * output's gradient over its window with a ConvTranspose of ones, after dividing by the window's
 * divisor (computed at build time, so count_include_pad and ceil_mode are honoured exactly).
 */
import { getAttr } from "../builder.ts";
import type { NodeProto } from "../proto.ts";
import { floatTensor } from "../builder.ts";
import type { GradContext } from "./context.ts";
import { convGeometry } from "./conv.ts";
import type { RuleTable } from "./rule.ts";

function spatial(ctx: GradContext, n: NodeProto, t: string): number[] {
  const d = ctx.requireDims(t, n).slice(2);
  if (!d.every((v) => typeof v === "number")) {
    throw new Error(`${n.opType} node "${n.name}": spatial size of "${t}" must be static`);
  }
  return d as number[];
}

/** Divisor of each output window of an AveragePool, row-major over the output grid. */
export function averageDivisors(
  inSizes: number[],
  outSizes: number[],
  kernel: number[],
  strides: number[],
  pads: number[],
  includePad: boolean,
): number[] {
  const r = kernel.length;
  // Per axis: the number of counted positions for each output index.
  const perAxis = Array.from(
    { length: r },
    (_, i) =>
      Array.from({ length: outSizes[i] }, (_, o) => {
        const start = o * strides[i] - pads[i];
        const end = Math.min(start + kernel[i], inSizes[i] + pads[r + i]);
        return includePad ? end - start : Math.min(end, inSizes[i]) - Math.max(start, 0);
      }),
  );
  const total = outSizes.reduce((a, b) => a * b, 1);
  const out = new Array(total);
  for (let flat = 0; flat < total; flat++) {
    let rem = flat;
    let prod = 1;
    for (let i = r - 1; i >= 0; i--) {
      prod *= perAxis[i][rem % outSizes[i]];
      rem = Math.floor(rem / outSizes[i]);
    }
    out[flat] = prod;
  }
  return out;
}

export const poolRules: RuleTable = {
  MaxPool: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const x = n.input![0];
      if (((getAttr(n, "storage_order") as number | undefined) ?? 0) !== 0) {
        throw new Error(`MaxPool node "${n.name}": storage_order=1 is not supported`);
      }
      const [, idx] = ctx.opN(
        "MaxPool",
        [x],
        2,
        Object.fromEntries(
          (n.attribute ?? []).map((a) => [a.name!, getAttr(n, a.name!)!]),
        ),
      );
      const flat = ctx.i64([-1]);
      const size = ctx.op("Reshape", [ctx.op("Size", [x]), flat]);
      const zeros = ctx.op("ConstantOfShape", [size], { value: floatTensor("value", [1], [0]) });
      const scattered = ctx.op("ScatterElements", [
        zeros,
        ctx.op("Reshape", [idx, flat]),
        ctx.op("Reshape", [g!, flat]),
      ], { axis: 0, reduction: "add" });
      return [ctx.op("Reshape", [scattered, ctx.shapeOf(x)])];
    },
  },
  AveragePool: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const x = n.input![0];
      const y = n.output![0];
      const geo = convGeometry(ctx, n, x);
      const dil = geo.dilations;
      if (dil.some((d) => d !== 1)) {
        throw new Error(`AveragePool node "${n.name}": dilations are not supported`);
      }
      const inSizes = spatial(ctx, n, x);
      const outSizes = spatial(ctx, n, y);
      const r = geo.kernel.length;
      const includePad = ((getAttr(n, "count_include_pad") as number | undefined) ?? 0) === 1;
      const div = averageDivisors(inSizes, outSizes, geo.kernel, geo.strides, geo.pads, includePad);
      const scale = ctx.f32(div.map((d) => 1 / d), [1, 1, ...outSizes]);
      const g1 = ctx.op("Reshape", [ctx.mul(g!, scale), ctx.i64([-1, 1, ...outSizes])]);
      const ones = ctx.f32(
        new Array(geo.kernel.reduce((a, b) => a * b, 1)).fill(1),
        [1, 1, ...geo.kernel],
      );
      // The full transposed extent, trimmed at the end (or padded) to the input size.
      const pads = [...geo.pads];
      const outputPadding: number[] = [];
      for (let i = 0; i < r; i++) {
        const full = (outSizes[i] - 1) * geo.strides[i] + geo.kernel[i];
        const excess = full - geo.pads[i] - inSizes[i];
        pads[r + i] = Math.max(excess, 0);
        outputPadding.push(Math.max(-excess, 0));
      }
      const gx1 = ctx.op("ConvTranspose", [g1, ones], {
        kernel_shape: geo.kernel,
        strides: geo.strides,
        pads,
        output_padding: outputPadding,
      });
      return [ctx.op("Reshape", [gx1, ctx.shapeOf(x)])];
    },
  },
  GlobalAveragePool: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const x = n.input![0];
      const xd = ctx.dims(x);
      const sp = xd?.slice(2);
      const count = sp && sp.every((d) => typeof d === "number")
        ? ctx.f32((sp as number[]).reduce((a, b) => a * b, 1))
        : ctx.div(ctx.count(x), ctx.count(n.output![0]));
      return [ctx.op("Expand", [ctx.div(g!, count), ctx.shapeOf(x)])];
    },
  },
  GlobalMaxPool: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const [x] = n.input!;
      const mask = ctx.op("Equal", [x, n.output![0]]);
      return [ctx.op("Where", [mask, g!, ctx.f32(0)])];
    },
  },
};
