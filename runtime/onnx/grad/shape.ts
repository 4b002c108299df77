/**
 * VJPs of data-movement ops. Reshape-like ops reshape the gradient back; Concat/Split swap roles;
 * Slice/Gather/Pad use the "iota" adjoint: apply the forward op to a tensor of flat element
 * indices, then scatter-add the gradient to the indices it selected. That one trick is exact for
 * any steps, negative indices, repeated indices and every Pad mode (reflect/edge revisit inputs).
 * Constant slices with unit steps and constant scalar Gathers take a cheaper Pad route.
 */
import { getAttr } from "../builder.ts";
import { floatTensor } from "../builder.ts";
import type { NodeProto } from "../proto.ts";
import type { GradContext } from "./context.ts";
import type { RuleTable, VjpRule } from "./rule.ts";

const reshapeBack: VjpRule = {
  diff: [0],
  vjp: (ctx, n, [g]) => [ctx.op("Reshape", [g!, ctx.shapeOf(n.input![0])])],
};

/** Flat element indices of `x`, shaped like `x` (int64). */
function iota(ctx: GradContext, x: string): { iota: string; size: string } {
  const size = ctx.op("Size", [x]);
  const range = ctx.op("Range", [ctx.i64([0], []), size, ctx.i64([1], [])]);
  return { iota: ctx.op("Reshape", [range, ctx.shapeOf(x)]), size };
}

/**
 * Scatter-adds `g` into zeros of `slots` elements at flat positions `idx` (shaped like `g`),
 * keeps the first |x| and reshapes to x.
 */
function scatterBack(
  ctx: GradContext,
  x: string,
  g: string,
  idx: string,
  slots: string,
  trim: boolean,
): string {
  const flat = ctx.i64([-1]);
  const zeros = ctx.op("ConstantOfShape", [ctx.op("Reshape", [slots, flat])], {
    value: floatTensor("value", [1], [0]),
  });
  let s = ctx.op("ScatterElements", [
    zeros,
    ctx.op("Reshape", [idx, flat]),
    ctx.op("Reshape", [g, flat]),
  ], { axis: 0, reduction: "add" });
  if (trim) {
    s = ctx.op("Slice", [s, ctx.i64([0]), ctx.op("Reshape", [ctx.op("Size", [x]), flat])]);
  }
  return ctx.op("Reshape", [s, ctx.shapeOf(x)]);
}

/** [begin..., end...] zero-pads placing `g` at `begin` inside a tensor of dims `full`. */
function padInto(
  ctx: GradContext,
  g: string,
  begin: number[],
  end: number[],
  dims?: readonly (number | string)[],
): string {
  const out = ctx.op("Pad", [g, ctx.i64([...begin, ...end])], { mode: "constant" });
  const padded = begin.flatMap((b, a) => (b !== 0 || end[a] !== 0 ? [a] : []));
  const total = padded.length === 1 ? dims?.[padded[0]] : undefined;
  if (typeof total === "number") {
    const a = padded[0];
    ctx.pieces.set(out, { piece: g, axis: a, before: begin[a], after: end[a], total });
  }
  return out;
}

/** Clamped [start, end) of a unit-step slice over an axis of extent `dim` (ONNX semantics). */
function sliceRange(start: number, end: number, dim: number): [number, number] {
  const norm = (v: number) => (v < 0 ? v + dim : v);
  const s = Math.min(Math.max(norm(start), 0), dim);
  const e = Math.min(Math.max(norm(end), 0), dim);
  return [s, Math.max(e, s)];
}

/** Pads that invert a constant unit-step Slice, or undefined when the cheap route doesn't apply. */
function slicePads(ctx: GradContext, n: NodeProto): number[][] | undefined {
  const [x, st, en, ax, sp] = n.input!;
  const xd = ctx.dims(x);
  const starts = ctx.constInts(st);
  const ends = ctx.constInts(en);
  if (!xd || !starts || !ends) return undefined;
  const axes = ax ? ctx.constInts(ax) : starts.map((_, i) => i);
  const steps = sp ? ctx.constInts(sp) : starts.map(() => 1);
  if (!axes || !steps || steps.some((s) => s !== 1)) return undefined;
  const begin = new Array(xd.length).fill(0);
  const end = new Array(xd.length).fill(0);
  for (let i = 0; i < axes.length; i++) {
    const a = axes[i] < 0 ? axes[i] + xd.length : axes[i];
    const dim = xd[a];
    if (typeof dim !== "number") return undefined;
    const [s, e] = sliceRange(starts[i], ends[i], dim);
    begin[a] = s;
    end[a] = dim - e;
  }
  return [begin, end];
}

export const shapeRules: RuleTable = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Dropout: { diff: [0], vjp: (_ctx, _n, [g]) => [g] },
  Transpose: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const perm = getAttr(n, "perm") as number[] | undefined;
      if (!perm) return [ctx.op("Transpose", [g!])];
      const inv = new Array(perm.length);
      perm.forEach((p, i) => (inv[p] = i));
      return [ctx.op("Transpose", [g!], { perm: inv })];
    },
  },
  Expand: {
    diff: [0],
    vjp: (ctx, n, [g]) => [ctx.reduceTo(g!, n.output![0], n.input![0])],
  },
  Concat: {
    diff: [...Array(256).keys()],
    vjp: (ctx, n, [g], needs) => {
      const axis = getAttr(n, "axis") as number;
      const xs = n.input!;
      const sizes = ctx.op("Concat", xs.map((x) => ctx.dimOf(x, axis)), { axis: 0 });
      const parts = ctx.split(g!, sizes, xs.length, axis);
      return parts.map((p, i) => (needs[i] ? p : undefined));
    },
  },
  Split: {
    diff: [0],
    outputs: "all",
    vjp: (ctx, n, gOut) => {
      const axis = (getAttr(n, "axis") as number | undefined) ?? 0;
      const parts = n.output!.map((y, i) => gOut[i] ?? ctx.zerosLike(y));
      return [ctx.op("Concat", parts, { axis })];
    },
  },
  Slice: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const pads = slicePads(ctx, n);
      if (pads) return [padInto(ctx, g!, pads[0], pads[1], ctx.dims(n.input![0]))];
      const x = n.input![0];
      const { iota: ix } = iota(ctx, x);
      const sel = ctx.op("Slice", [ix, ...n.input!.slice(1)]);
      return [scatterBack(ctx, x, g!, sel, ctx.op("Size", [x]), false)];
    },
  },
  Gather: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const [x, indices] = n.input!;
      const axis = (getAttr(n, "axis") as number | undefined) ?? 0;
      const xd = ctx.dims(x);
      const idx = ctx.constValue(indices);
      if (xd && idx && idx.dims.length === 0) {
        const a = axis < 0 ? axis + xd.length : axis;
        const dim = xd[a];
        if (typeof dim === "number") {
          const i = idx.data[0] < 0 ? idx.data[0] + dim : idx.data[0];
          const begin = new Array(xd.length).fill(0);
          const end = new Array(xd.length).fill(0);
          begin[a] = i;
          end[a] = dim - i - 1;
          return [padInto(ctx, ctx.unsqueeze(g!, [a]), begin, end, xd)];
        }
      }
      const { iota: ix } = iota(ctx, x);
      const sel = ctx.op("Gather", [ix, indices], { axis });
      return [scatterBack(ctx, x, g!, sel, ctx.op("Size", [x]), false)];
    },
  },
  Pad: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const x = n.input![0];
      const mode = (getAttr(n, "mode") as string | undefined) ?? "constant";
      const { iota: ix, size } = iota(ctx, x);
      const rest = n.input!.slice(1);
      if (mode === "constant") {
        // Padded cells point at a sentinel slot |x|, dropped after the scatter.
        const padded = ctx.op("Pad", [ix, rest[0], size, ...rest.slice(2)], { mode });
        const slots = ctx.op("Add", [size, ctx.i64([1], [])]);
        return [scatterBack(ctx, x, g!, padded, slots, true)];
      }
      const tail = rest.length > 2 ? ["", ...rest.slice(2)] : [];
      const padded = ctx.op("Pad", [ix, rest[0], ...tail], { mode });
      return [scatterBack(ctx, x, g!, padded, size, false)];
    },
  },
  ScatterND: {
    diff: [0, 2],
    vjp: (ctx, n, [g], needs) => {
      const reduction = (getAttr(n, "reduction") as string | undefined) ?? "none";
      if (reduction !== "none") {
        throw new Error(`ScatterND node "${n.name}": reduction ${reduction} is not supported`);
      }
      const [, indices, updates] = n.input!;
      return [
        needs[0] ? ctx.op("ScatterND", [g!, indices, ctx.zerosLike(updates)]) : undefined,
        undefined,
        needs[2] ? ctx.op("GatherND", [g!, indices]) : undefined,
      ];
    },
  },
};
