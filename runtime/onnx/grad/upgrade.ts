/**
 * Rewrites the forward nodes of an opset < 13 model into their opset-13 signatures, so the
 * gradient graph (emitted at opset ≥ 17 for ScatterElements' `reduction`) can keep them
 * unchanged: Squeeze/Unsqueeze/ReduceSum/Split take axes or sizes as inputs, Softmax/LogSoftmax
 * lose the flatten-to-2-D semantics, Pad/Clip (opset < 11) take inputs, and Dropout (inference)
 * becomes Identity at every opset.
 */
import { floatTensor, getAttr, int64Tensor, node } from "../builder.ts";
import type { NodeProto, TensorProto } from "../proto.ts";
import type { ShapeMap } from "./context.ts";

export interface Upgraded {
  nodes: NodeProto[];
  initializers: TensorProto[];
}

/** Copies a node's attributes except `drop`, for re-emission. */
function keepAttrs(n: NodeProto, drop: string[]) {
  return (n.attribute ?? []).filter((a) => !drop.includes(a.name ?? ""));
}

function withAttrs(n: NodeProto, inputs: string[], drop: string[]): NodeProto {
  const m = node(n.opType!, inputs, [...n.output!], {}, {
    name: n.name ?? "",
    domain: n.domain ?? "",
  });
  m.attribute = keepAttrs(n, drop);
  return m;
}

/** Nodes at opset-13 signatures; `taken` supplies fresh names for new constants. */
export function upgradeNodes(
  nodes: readonly NodeProto[],
  opset: number,
  shapes: ShapeMap,
  fresh: (hint: string) => string,
): Upgraded {
  const out: NodeProto[] = [];
  const inits: TensorProto[] = [];
  const ints = (values: number[]) => {
    const name = fresh("upgrade");
    inits.push(int64Tensor(name, [values.length], values));
    return name;
  };
  const float = (v: number) => {
    const name = fresh("upgrade");
    inits.push(floatTensor(name, [], [v]));
    return name;
  };
  const consumed = new Set<string>();
  for (const n of nodes) for (const x of n.input ?? []) consumed.add(x);
  for (const n of nodes) {
    const op = n.opType ?? "";
    const inDefault = !n.domain || n.domain === "ai.onnx";
    if (inDefault && op === "Dropout") {
      // Inference: identity (torch exports some p=0 dropouts with training_mode=true).
      const used = (n.output ?? []).slice(1).some((o) => o !== "" && consumed.has(o));
      if (used) throw new Error(`Dropout node "${n.name}": its mask output is not supported`);
      out.push(node("Identity", [n.input![0]], [n.output![0]], {}, { name: n.name ?? "" }));
      continue;
    }
    if (!inDefault || opset >= 13) {
      out.push(n);
      continue;
    }
    const axes = getAttr(n, "axes") as number[] | undefined;
    switch (op) {
      case "Squeeze":
      case "Unsqueeze":
      case "ReduceSum":
        out.push(withAttrs(n, axes ? [n.input![0], ints(axes)] : [n.input![0]], ["axes"]));
        break;
      case "Split": {
        const split = getAttr(n, "split") as number[] | undefined;
        out.push(withAttrs(n, split ? [n.input![0], ints(split)] : [n.input![0]], ["split"]));
        break;
      }
      case "Softmax":
      case "LogSoftmax": {
        const axis = (getAttr(n, "axis") as number | undefined) ?? 1;
        const rank = shapes.get(n.input![0])?.length;
        if (axis === -1 || (rank !== undefined && axis === rank - 1)) {
          out.push(node(op, [n.input![0]], [...n.output!], { axis: -1 }, { name: n.name ?? "" }));
        } else {
          // Old semantics: softmax over the flattened trailing block [axis:].
          const flat = fresh("upgrade");
          const soft = fresh("upgrade");
          const shape = fresh("upgrade");
          out.push(node("Flatten", [n.input![0]], [flat], { axis }));
          out.push(node(op, [flat], [soft], { axis: -1 }, { name: n.name ?? "" }));
          out.push(node("Shape", [n.input![0]], [shape]));
          out.push(node("Reshape", [soft, shape], [...n.output!]));
        }
        break;
      }
      case "Pad":
        if (opset < 11) {
          const pads = getAttr(n, "pads") as number[];
          const value = (getAttr(n, "value") as number | undefined) ?? 0;
          out.push(withAttrs(n, [n.input![0], ints(pads), float(value)], ["pads", "value"]));
        } else out.push(n);
        break;
      case "Clip":
        if (opset < 11) {
          const lo = getAttr(n, "min") as number | undefined;
          const hi = getAttr(n, "max") as number | undefined;
          out.push(withAttrs(n, [
            n.input![0],
            lo === undefined ? "" : float(lo),
            hi === undefined ? "" : float(hi),
          ], ["min", "max"]));
        } else out.push(n);
        break;
      case "Resize":
      case "Upsample":
        if (opset < 11) {
          throw new Error(`${op} node "${n.name}": opset ${opset} ${op} is not supported`);
        }
        out.push(n);
        break;
      default:
        out.push(n);
    }
  }
  return { nodes: out, initializers: inits };
}
