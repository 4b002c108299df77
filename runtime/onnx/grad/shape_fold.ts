/**
 * Values of the integer shape arithmetic in a forward graph, from the (probed) static dims: torch
 * exports `x.chunk(2, dim=1)` (ShuffleNetV2) as Shape → Gather → Add → Div → Mul → Slice, so the
 * Slice bounds are no constants and the Slice adjoint falls back to its general route (a
 * ScatterElements over the whole tensor: 19% of ShuffleNetV2's gradient run). With the channel
 * count known, the bounds are: this pass computes them, and the rules then see constants (the Pad
 * route). Only exact integer arithmetic on values every batch size shares is folded; a value
 * that depends on a batch-dependent dim stays unknown.
 */
import { getAttr } from "../builder.ts";
import { DType } from "../builder.ts";
import type { NodeProto } from "../proto.ts";
import type { ShapeMap } from "./context.ts";
import type { ConstValue } from "./tensor.ts";

type Partial = (number | undefined)[];

const INT_TYPES = new Set<number>([DType.INT64, 6 /* INT32 */]);

/**
 * Fully known integer tensors computed by shape arithmetic among `nodes`, by name (rank 0 or 1),
 * given the dims in `shapes` and the constants in `consts`.
 */
export function foldShapeValues(
  nodes: readonly NodeProto[],
  shapes: ShapeMap,
  consts: ReadonlyMap<string, ConstValue>,
): Map<string, ConstValue> {
  const vals = new Map<string, Partial>();
  const get = (name: string | undefined): Partial | undefined => {
    if (!name) return undefined;
    const v = vals.get(name);
    if (v) return v;
    const c = consts.get(name);
    return c && INT_TYPES.has(c.dataType) && c.dims.length <= 1 ? Array.from(c.data) : undefined;
  };
  for (const n of nodes) {
    if (n.domain && n.domain !== "ai.onnx") continue;
    const out = n.output?.[0];
    if (!out) continue;
    const ins = (n.input ?? []).map(get);
    let v: Partial | undefined;
    switch (n.opType) {
      case "Shape": {
        const d = shapes.get(n.input![0]);
        if (!d) break;
        const all = d.map((x) => (typeof x === "number" ? x : undefined));
        const r = all.length;
        const norm = (i: number) => Math.min(Math.max(i < 0 ? i + r : i, 0), r);
        const start = norm((getAttr(n, "start") as number | undefined) ?? 0);
        const end = norm((getAttr(n, "end") as number | undefined) ?? r);
        v = all.slice(start, end);
        break;
      }
      case "Gather": {
        const [data, idx] = ins;
        const axis = (getAttr(n, "axis") as number | undefined) ?? 0;
        if (data && idx && axis === 0 && idx.every((i) => i !== undefined)) {
          v = (idx as number[]).map((i) => data[i < 0 ? i + data.length : i]);
        }
        break;
      }
      case "Identity":
      case "Unsqueeze":
      case "Squeeze":
      case "Reshape":
        v = ins[0];
        break;
      case "Cast": {
        const to = getAttr(n, "to") as number | undefined;
        if (to !== undefined && INT_TYPES.has(to)) v = ins[0];
        break;
      }
      case "Concat":
        if (ins.every((x) => x)) v = (ins as Partial[]).flat();
        break;
      case "Add":
      case "Sub":
      case "Mul":
      case "Div": {
        const [a, b] = ins;
        if (!a || !b || (a.length !== b.length && a.length !== 1 && b.length !== 1)) break;
        const len = Math.max(a.length, b.length);
        v = Array.from({ length: len }, (_, i) => {
          const p = a[a.length === 1 ? 0 : i];
          const q = b[b.length === 1 ? 0 : i];
          if (p === undefined || q === undefined) return undefined;
          if (n.opType === "Add") return p + q;
          if (n.opType === "Sub") return p - q;
          if (n.opType === "Mul") return p * q;
          return q === 0 ? undefined : Math.trunc(p / q);
        });
        break;
      }
    }
    if (v && v.length <= 64) vals.set(out, v);
  }
  const known = new Map<string, ConstValue>();
  for (const [name, v] of vals) {
    if (consts.has(name) || v.some((x) => x === undefined)) continue;
    const d = shapes.get(name);
    const dims = d && d.length === 0 ? [] : [v.length];
    known.set(name, { dims, dataType: DType.INT64, data: Float64Array.from(v as number[]) });
  }
  return known;
}
