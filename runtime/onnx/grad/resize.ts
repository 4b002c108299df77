/**
 * VJP of Resize (nearest and linear modes): Resize is separable and linear in its input, so the
 * adjoint applies the transpose of each axis's 1-D interpolation matrix, built at compile time
 * from ONNX's coordinate transforms. Spatial sizes must be static.
 */
import { getAttr } from "../builder.ts";
import type { NodeProto } from "../proto.ts";
import type { RuleTable } from "./rule.ts";

/** Source coordinate of output index `o` (ONNX coordinate_transformation_mode). */
function sourceCoord(mode: string, o: number, scale: number, inSize: number, outSize: number) {
  switch (mode) {
    case "half_pixel":
      return (o + 0.5) / scale - 0.5;
    case "pytorch_half_pixel":
      return outSize > 1 ? (o + 0.5) / scale - 0.5 : 0;
    case "align_corners":
      return outSize === 1 ? 0 : (o * (inSize - 1)) / (outSize - 1);
    case "asymmetric":
      return o / scale;
    case "tf_half_pixel_for_nn":
      return (o + 0.5) / scale;
    default:
      throw new Error(`coordinate_transformation_mode ${mode} is not supported`);
  }
}

function nearestIndex(mode: string, x: number): number {
  switch (mode) {
    case "round_prefer_ceil":
      return Math.floor(x + 0.5);
    case "floor":
      return Math.floor(x);
    case "ceil":
      return Math.ceil(x);
    default: // round_prefer_floor
      return Math.ceil(x - 0.5);
  }
}

/** The [out, in] matrix of a 1-D resize, row-major. */
export function resizeMatrix(
  inSize: number,
  outSize: number,
  scale: number,
  mode: string,
  coordMode: string,
  nearestMode: string,
): Float64Array {
  const m = new Float64Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) {
    const x = sourceCoord(coordMode, o, scale, inSize, outSize);
    if (mode === "nearest") {
      const i = Math.min(Math.max(nearestIndex(nearestMode, x), 0), inSize - 1);
      m[o * inSize + i] = 1;
    } else {
      const c = Math.min(Math.max(x, 0), inSize - 1);
      const i0 = Math.floor(c);
      const i1 = Math.min(i0 + 1, inSize - 1);
      const w = c - i0;
      m[o * inSize + i0] += 1 - w;
      m[o * inSize + i1] += w;
    }
  }
  return m;
}

function describe(n: NodeProto): string {
  return `Resize node "${n.name}"`;
}

export const resizeRules: RuleTable = {
  Resize: {
    diff: [0],
    vjp: (ctx, n, [g]) => {
      const [x, , scalesName] = n.input!;
      const y = n.output![0];
      const mode = (getAttr(n, "mode") as string | undefined) ?? "nearest";
      if (mode !== "nearest" && mode !== "linear") {
        throw new Error(`${describe(n)}: mode ${mode} is not supported`);
      }
      const coord = (getAttr(n, "coordinate_transformation_mode") as string | undefined) ??
        "half_pixel";
      const nearest = (getAttr(n, "nearest_mode") as string | undefined) ?? "round_prefer_floor";
      const axesAttr = getAttr(n, "axes") as number[] | undefined;
      const xd = ctx.requireDims(x, n);
      const yd = ctx.requireDims(y, n);
      const scales = scalesName ? ctx.constValue(scalesName) : undefined;
      const rank = xd.length;
      let gx = g!;
      for (let a = 0; a < rank; a++) {
        const inSize = xd[a];
        const outSize = yd[a];
        const k = axesAttr ? axesAttr.findIndex((v) => (v < 0 ? v + rank : v) === a) : a;
        const scale = scales && k >= 0 && k < scales.data.length ? scales.data[k] : undefined;
        if (inSize === outSize && (scale === undefined || scale === 1)) continue;
        if (typeof inSize !== "number" || typeof outSize !== "number") {
          throw new Error(`${describe(n)}: resized axis ${a} must have a static size`);
        }
        let m: Float64Array;
        try {
          m = resizeMatrix(inSize, outSize, scale ?? outSize / inSize, mode, coord, nearest);
        } catch (e) {
          throw new Error(`${describe(n)}: ${(e as Error).message}`);
        }
        const mat = ctx.f32(Array.from(m), [outSize, inSize]);
        // Move axis a last, contract with the [out, in] matrix, move it back.
        const perm = [...Array(rank).keys()].filter((i) => i !== a).concat([a]);
        const inv = new Array(rank);
        perm.forEach((p, i) => (inv[p] = i));
        const moved = a === rank - 1 ? gx : ctx.op("Transpose", [gx], { perm });
        const prod = ctx.op("MatMul", [moved, mat]);
        gx = a === rank - 1 ? prod : ctx.op("Transpose", [prod], { perm: inv });
      }
      return [gx];
    },
  },
};
