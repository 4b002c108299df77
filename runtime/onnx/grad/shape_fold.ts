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
import { DType, int64Tensor } from "../builder.ts";
import { type NodeProto, onnxNs, type TensorProto } from "../proto.ts";
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

/** Ops whose index inputs are int64 by the ONNX spec, by input position. */
const INT64_INPUTS: Record<string, number[]> = {
  Reshape: [1],
  Expand: [1],
  Tile: [1],
  ConstantOfShape: [0],
  Unsqueeze: [1],
  Squeeze: [1],
  Split: [1],
};

/**
 * The forward graph with its shape arithmetic replaced by constants where the values are known:
 * index inputs of Reshape/Expand/Tile/ConstantOfShape/(Un)Squeeze/Split and Slice bounds that
 * `known` (foldShapeValues) or `consts` hold become initializers, and a Reshape whose target
 * depends on the batch gets a constant target built from the probed output dims, with 0 (copy the
 * input's dim) where the output has the input's batch-dependent dim at the same axis. The Shape,
 * Gather, Unsqueeze, Concat, ... chains that computed them are then unused and pruned from the
 * gradient graph: ShuffleNetV2's forward carries about 250 such nodes, each a kernel launch per
 * run. Values are unchanged. A Reshape straight back to another tensor's Shape (GroupNorm's
 * Reshape → InstanceNormalization → Reshape(·, Shape(x))) is left alone: it would save one Shape
 * node, and its constant target let onnxruntime plan convnext-gn-k3's gradient differently, which
 * then differed in the last bits (up to 9e-8) from the one the zoo's expected results hold.
 */
export function constantShapeInputs(
  nodes: readonly NodeProto[],
  known: ReadonlyMap<string, ConstValue>,
  consts: ReadonlyMap<string, ConstValue>,
  shapes: ShapeMap,
  fresh: (hint: string) => string,
): { nodes: NodeProto[]; initializers: TensorProto[] } {
  const initializers: TensorProto[] = [];
  const made = new Map<string, string>();
  const constant = (key: string, dims: number[], values: number[]): string => {
    const k = `${key}|${dims.join(",")}|${values.join(",")}`;
    let name = made.get(k);
    if (!name) {
      name = fresh("shape_const");
      initializers.push(int64Tensor(name, dims, values));
      made.set(k, name);
    }
    return name;
  };
  const folded = (name: string | undefined) => (name ? known.get(name) : undefined);
  const producer = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const out = nodes.map((n) => {
    if (n.domain && n.domain !== "ai.onnx") return n;
    const inputs = [...(n.input ?? [])];
    let changed = false;
    for (const i of INT64_INPUTS[n.opType ?? ""] ?? []) {
      const v = folded(inputs[i]);
      if (v) {
        inputs[i] = constant("i", v.dims, Array.from(v.data));
        changed = true;
      }
    }
    if (
      n.opType === "Reshape" && !folded(n.input![1]) && !consts.has(n.input![1]) &&
      producer.get(n.input![1])?.opType !== "Shape"
    ) {
      const target = batchReshapeTarget(n, shapes);
      if (target) {
        inputs[1] = constant("i", [target.length], target);
        changed = true;
      }
    }
    if (n.opType === "Slice") {
      // starts/ends/axes/steps share one index type: replace all or none.
      const idx = inputs.slice(1).map((x) => (x ? folded(x) ?? consts.get(x) : undefined));
      const present = inputs.slice(1).map((x) => !!x);
      const some = inputs.slice(1).some((x) => folded(x));
      if (some && idx.every((v, k) => !present[k] || v)) {
        idx.forEach((v, k) => {
          if (v) inputs[k + 1] = constant("i", v.dims, Array.from(v.data));
        });
        changed = true;
      }
    }
    return changed ? onnxNs.NodeProto.create({ ...n, input: inputs }) : n;
  });
  return { nodes: out, initializers };
}

/** A constant Reshape target from the probed output dims, or undefined. */
function batchReshapeTarget(n: NodeProto, shapes: ShapeMap): number[] | undefined {
  if (((getAttr(n, "allowzero") as number | undefined) ?? 0) !== 0) return undefined;
  const xd = shapes.get(n.input![0]);
  const yd = shapes.get(n.output![0]);
  if (!xd || !yd) return undefined;
  // Only batch-proportional dims ("N*k", see runtime/grad_model.ts probeShapes) are matched.
  const t = yd.map((d, i) =>
    typeof d === "number"
      ? (d === 0 ? undefined : d)
      : d.startsWith("N*") && xd[i] === d
      ? 0
      : undefined
  );
  return t.every((v) => v !== undefined) ? t as number[] : undefined;
}
