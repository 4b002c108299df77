/**
 * VJPs of Conv and ConvTranspose with respect to their data input (weights are initializers and
 * are not differentiated). Conv's adjoint is ConvTranspose with the same weights, strides,
 * dilations, groups and pads, plus the `output_padding` that restores the rows the forward
 * stride's floor dropped; ConvTranspose's adjoint is the matching Conv.
 */
import { getAttr } from "../builder.ts";
import type { NodeProto } from "../proto.ts";
import type { GradContext } from "./context.ts";
import type { RuleTable } from "./rule.ts";

export interface ConvGeometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** [begin..., end...] as in ONNX. */
  pads: number[];
}

/** Explicit pads for auto_pad, ONNX semantics (SAME_UPPER puts the odd extra pad at the end). */
export function resolvePads(
  autoPad: string,
  pads: number[] | undefined,
  inSizes: (number | undefined)[],
  kernel: number[],
  strides: number[],
  dilations: number[],
  who: NodeProto,
): number[] {
  const r = kernel.length;
  if (autoPad === "NOTSET" || autoPad === "") return pads ?? new Array(2 * r).fill(0);
  if (autoPad === "VALID") return new Array(2 * r).fill(0);
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < r; i++) {
    const n = inSizes[i];
    if (n === undefined) {
      throw new Error(`${who.opType} node "${who.name}": auto_pad needs static spatial sizes`);
    }
    const out = Math.ceil(n / strides[i]);
    const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - n);
    const small = Math.floor(total / 2);
    if (autoPad === "SAME_LOWER") {
      begin.push(total - small);
      end.push(small);
    } else {
      begin.push(small);
      end.push(total - small);
    }
  }
  return [...begin, ...end];
}

/** Kernel, strides, dilations and explicit pads of a Conv-like node over input `x`. */
export function convGeometry(
  ctx: GradContext,
  n: NodeProto,
  x: string,
  kernelFromWeights?: string,
): ConvGeometry {
  let kernel = getAttr(n, "kernel_shape") as number[] | undefined;
  if (!kernel && kernelFromWeights) {
    const wd = ctx.staticDims(kernelFromWeights);
    if (wd) kernel = wd.slice(2);
  }
  if (!kernel) throw new Error(`${n.opType} node "${n.name}": kernel shape unknown`);
  const r = kernel.length;
  const strides = (getAttr(n, "strides") as number[] | undefined) ?? new Array(r).fill(1);
  const dilations = (getAttr(n, "dilations") as number[] | undefined) ?? new Array(r).fill(1);
  const xd = ctx.dims(x);
  const inSizes = Array.from({ length: r }, (_, i) => {
    const v = xd?.[2 + i];
    return typeof v === "number" ? v : undefined;
  });
  const pads = resolvePads(
    (getAttr(n, "auto_pad") as string | undefined) ?? "NOTSET",
    getAttr(n, "pads") as number[] | undefined,
    inSizes,
    kernel,
    strides,
    dilations,
    n,
  );
  return { kernel, strides, dilations, pads };
}

/** Per-axis remainder the forward conv's floor dropped, which the adjoint must pad back. */
export function outputPadding(
  ctx: GradContext,
  n: NodeProto,
  x: string,
  geo: ConvGeometry,
): number[] {
  const xd = ctx.requireDims(x, n);
  const r = geo.kernel.length;
  return Array.from({ length: r }, (_, i) => {
    const size = xd[2 + i];
    if (typeof size !== "number") {
      throw new Error(`${n.opType} node "${n.name}": spatial size of "${x}" must be static`);
    }
    const span = (geo.kernel[i] - 1) * geo.dilations[i] + 1;
    return (size + geo.pads[i] + geo.pads[r + i] - span) % geo.strides[i];
  });
}

/**
 * Pads of the stride-1 adjoint conv: (k_eff − 1 − pad) per side, or undefined if negative.
 */
function fullPads(geo: ConvGeometry): number[] | undefined {
  const r = geo.kernel.length;
  const pads = geo.pads.map((p, i) => (geo.kernel[i % r] - 1) * geo.dilations[i % r] - p);
  return pads.every((p) => p >= 0) ? pads : undefined;
}

/**
 * W [M, C/g, k...] → W' [C, M/g, k...] with every kernel flipped: the weights of the Conv that
 * is a stride-1 Conv's adjoint. Built at compile time when W is an initializer.
 */
function flippedWeights(ctx: GradContext, w: string, group: number): string | undefined {
  const t = ctx.initializerValue(w);
  if (!t) return undefined;
  const [m, cg, ...k] = t.dims;
  const ks = k.reduce((a, b) => a * b, 1);
  const mg = m / group;
  const c = cg * group;
  const out = new Float32Array(t.data.length);
  for (let gi = 0; gi < group; gi++) {
    for (let mo = 0; mo < mg; mo++) {
      for (let ci = 0; ci < cg; ci++) {
        const src = ((gi * mg + mo) * cg + ci) * ks;
        const dst = ((gi * cg + ci) * mg + mo) * ks;
        for (let j = 0; j < ks; j++) out[dst + j] = t.data[src + ks - 1 - j];
      }
    }
  }
  return ctx.f32(Array.from(out), [c, mg, ...k]);
}

function noWeightGrad(n: NodeProto, needs: boolean[]): void {
  if (needs[1] || needs[2]) {
    throw new Error(
      `${n.opType} node "${n.name}": gradients with respect to weights or bias are not ` +
        `supported (they must be initializers)`,
    );
  }
}

export const convRules: RuleTable = {
  Conv: {
    diff: [0, 1, 2],
    vjp: (ctx, n, [g], needs) => {
      noWeightGrad(n, needs);
      const [x, w] = n.input!;
      const geo = convGeometry(ctx, n, x, w);
      const group = (getAttr(n, "group") as number | undefined) ?? 1;
      const flipped = geo.strides.every((s) => s === 1) ? flippedWeights(ctx, w, group) : undefined;
      if (flipped && fullPads(geo)) {
        // Stride 1: the adjoint is a plain Conv with the flipped, group-transposed kernel, which
        // onnxruntime runs much faster than ConvTranspose (depthwise above all).
        return [
          ctx.op("Conv", [g!, flipped], {
            kernel_shape: geo.kernel,
            dilations: geo.dilations,
            pads: fullPads(geo)!,
            group,
          }),
        ];
      }
      const gx = ctx.op("ConvTranspose", [g!, w], {
        kernel_shape: geo.kernel,
        strides: geo.strides,
        dilations: geo.dilations,
        pads: geo.pads,
        group,
        output_padding: outputPadding(ctx, n, x, geo),
      });
      return [gx];
    },
  },
  ConvTranspose: {
    diff: [0, 1, 2],
    vjp: (ctx, n, [g], needs) => {
      noWeightGrad(n, needs);
      const [x, w] = n.input!;
      if (getAttr(n, "output_shape") !== undefined) {
        throw new Error(`ConvTranspose node "${n.name}": output_shape is not supported`);
      }
      const autoPad = (getAttr(n, "auto_pad") as string | undefined) ?? "NOTSET";
      if (autoPad !== "NOTSET" && autoPad !== "VALID" && autoPad !== "") {
        throw new Error(`ConvTranspose node "${n.name}": auto_pad ${autoPad} is not supported`);
      }
      const geo = convGeometry(ctx, n, x, w);
      const group = (getAttr(n, "group") as number | undefined) ?? 1;
      return [
        ctx.op("Conv", [g!, w], {
          kernel_shape: geo.kernel,
          strides: geo.strides,
          dilations: geo.dilations,
          pads: geo.pads,
          group,
        }),
      ];
    },
  },
};
