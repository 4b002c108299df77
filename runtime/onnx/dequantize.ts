/**
 * Turns a quantised (QDQ / QLinear int8) model into an equivalent float graph, so gradients can
 * flow through it: int8/uint8 weights become float initializers (w − zero_point)·scale, biases
 * int32·x_scale·w_scale, and each QLinear op becomes its float op followed by the "fake-quant"
 * of its output.
 *
 * Fake-quant is modelled as a Clip to the representable range [(qmin − zp)·s, (qmax − zp)·s],
 * with rounding dropped: the clip keeps what quantisation does to the function's shape (it is
 * where the fused ReLU/ReLU6 of a QLinearConv lives), and dropping the rounding is the usual
 * straight-through estimator, so gradients pass unchanged inside the range and are zero outside.
 * The float model's outputs therefore differ from the int8 model's by rounding only.
 */
import { DType, floatTensor, getAttr, node } from "./builder.ts";
import { readTensor } from "./grad/tensor.ts";
import type { ModelProto, NodeProto, TensorProto } from "./proto.ts";
import { onnxNs } from "./proto.ts";

/** Ops handled, by "domain:op". */
export const quantizedOps = [
  "QuantizeLinear",
  "DequantizeLinear",
  "QLinearConv",
  "QLinearMatMul",
  "com.microsoft:QLinearAdd",
  "com.microsoft:QLinearMul",
  "com.microsoft:QLinearGlobalAveragePool",
  "com.microsoft:QLinearAveragePool",
  "com.microsoft:QLinearSigmoid",
  "com.microsoft:QLinearLeakyRelu",
  "com.microsoft:QLinearConcat",
];

function qrange(zpType: number): [number, number] {
  if (zpType === DType.INT8) return [-128, 127];
  if (zpType === DType.UINT8) return [0, 255];
  throw new Error(`unsupported quantised type ${zpType}`);
}

export interface DequantizeOptions {
  /**
   * Keep the rounding: fake-quant as QuantizeLinear + DequantizeLinear (bit-faithful forward,
   * but not differentiable). For checking the rewrite; gradients need the default (Clip).
   */
  round: boolean;
}

export const defaults: DequantizeOptions = { round: false };

export function dequantizeModel(
  model: ModelProto,
  options: Partial<DequantizeOptions> = {},
): ModelProto {
  const opts = { ...defaults, ...options };
  const g = model.graph!;
  const inits = new Map<string, TensorProto>((g.initializer ?? []).map((t) => [t.name!, t]));
  const newInits: TensorProto[] = [];
  const nodes: NodeProto[] = [];
  let counter = 0;
  const fresh = (hint: string) => `dq/${hint}_${counter++}`;
  const value = (name: string, who: NodeProto) => {
    const t = inits.get(name);
    if (!t) throw new Error(`${who.opType} node "${who.name}": "${name}" must be an initializer`);
    return readTensor(t);
  };
  const scalar = (v: number) => {
    const name = fresh("const");
    newInits.push(floatTensor(name, [], [v]));
    return name;
  };

  /** Float version of a quantised tensor: an initializer dequantised, or the (now float) name. */
  const floatOf = (q: string, s: string, zp: string, who: NodeProto, axis = 0): string => {
    const t = inits.get(q);
    if (!t) return q;
    const v = readTensor(t);
    const sc = value(s, who).data;
    const z = zp ? value(zp, who).data : new Float64Array(sc.length);
    const dims = v.dims;
    const a = axis < 0 ? axis + dims.length : axis;
    const inner = dims.slice(a + 1).reduce((x, y) => x * y, 1);
    const out = new Float64Array(v.data.length);
    for (let i = 0; i < out.length; i++) {
      const c = sc.length === 1 ? 0 : Math.floor(i / inner) % dims[a];
      out[i] = (v.data[i] - z[c]) * sc[c];
    }
    const name = fresh(q);
    newInits.push(floatTensor(name, dims, out));
    return name;
  };

  /** Clip to the range of (scale, zero point): the fake-quant of an output. */
  const fakeQuant = (x: string, s: string, zp: string, out: string, who: NodeProto) => {
    const sc = value(s, who).data;
    const z = zp ? value(zp, who) : { data: Float64Array.of(0), dataType: DType.UINT8 };
    if (sc.length !== 1) throw new Error(`${who.opType} node "${who.name}": per-axis output scale`);
    const [qmin, qmax] = qrange(z.dataType);
    if (opts.round) {
      const q = fresh("q");
      nodes.push(node("QuantizeLinear", [x, s, zp], [q], {}, { name: `${who.name}/q` }));
      nodes.push(node("DequantizeLinear", [q, s, zp], [out], {}, { name: `${who.name}/dq` }));
      return;
    }
    nodes.push(
      node(
        "Clip",
        [x, scalar((qmin - z.data[0]) * sc[0]), scalar((qmax - z.data[0]) * sc[0])],
        [out],
        {},
        {
          name: `${who.name}/fakequant`,
        },
      ),
    );
  };

  const floatOp = (n: NodeProto, op: string, inputs: string[], keep: string[] = []) => {
    const tmp = fresh(op);
    const m = node(op, inputs, [tmp], {}, { name: `${n.name}/float` });
    m.attribute = (n.attribute ?? []).filter((a) => keep.includes(a.name!));
    nodes.push(m);
    return tmp;
  };

  for (const n of g.node ?? []) {
    const key = n.domain && n.domain !== "ai.onnx" ? `${n.domain}:${n.opType}` : n.opType!;
    const i = n.input!;
    const out = n.output![0];
    switch (key) {
      case "QuantizeLinear":
        fakeQuant(i[0], i[1], i[2] ?? "", out, n);
        break;
      case "DequantizeLinear": {
        const axis = (getAttr(n, "axis") as number | undefined) ?? 1;
        const f = floatOf(i[0], i[1], i[2] ?? "", n, axis);
        nodes.push(node("Identity", [f], [out], {}, { name: n.name ?? "" }));
        break;
      }
      case "QLinearConv": {
        const w = floatOf(i[3], i[4], i[5], n, 0);
        const ins = [i[0], w];
        if (i[8]) {
          const b = value(i[8], n);
          const xs = value(i[1], n).data[0];
          const ws = value(i[4], n).data;
          const name = fresh("bias");
          newInits.push(
            floatTensor(name, b.dims, b.data.map((v, c) => v * xs * ws[ws.length === 1 ? 0 : c])),
          );
          ins.push(name);
        }
        const y = floatOp(n, "Conv", ins, [
          "auto_pad",
          "dilations",
          "group",
          "kernel_shape",
          "pads",
          "strides",
        ]);
        fakeQuant(y, i[6], i[7], out, n);
        break;
      }
      case "QLinearMatMul": {
        const a = floatOf(i[0], i[1], i[2], n, 0);
        const b = floatOf(i[3], i[4], i[5], n, -1);
        fakeQuant(floatOp(n, "MatMul", [a, b]), i[6], i[7], out, n);
        break;
      }
      case "com.microsoft:QLinearAdd":
      case "com.microsoft:QLinearMul": {
        const a = floatOf(i[0], i[1], i[2], n);
        const b = floatOf(i[3], i[4], i[5], n);
        const op = n.opType === "QLinearAdd" ? "Add" : "Mul";
        fakeQuant(floatOp(n, op, [a, b]), i[6], i[7], out, n);
        break;
      }
      case "com.microsoft:QLinearGlobalAveragePool":
      case "com.microsoft:QLinearAveragePool": {
        if (((getAttr(n, "channels_last") as number | undefined) ?? 0) !== 0) {
          throw new Error(`${n.opType} node "${n.name}": channels_last is not supported`);
        }
        const op = n.opType === "QLinearAveragePool" ? "AveragePool" : "GlobalAveragePool";
        const keep = [
          "auto_pad",
          "ceil_mode",
          "count_include_pad",
          "kernel_shape",
          "pads",
          "strides",
        ];
        fakeQuant(floatOp(n, op, [floatOf(i[0], i[1], i[2], n)], keep), i[3], i[4], out, n);
        break;
      }
      case "com.microsoft:QLinearSigmoid":
      case "com.microsoft:QLinearLeakyRelu": {
        const op = n.opType === "QLinearSigmoid" ? "Sigmoid" : "LeakyRelu";
        fakeQuant(floatOp(n, op, [floatOf(i[0], i[1], i[2], n)], ["alpha"]), i[3], i[4], out, n);
        break;
      }
      case "com.microsoft:QLinearConcat": {
        const parts: string[] = [];
        for (let k = 2; k < i.length; k += 3) parts.push(floatOf(i[k], i[k + 1], i[k + 2], n));
        fakeQuant(floatOp(n, "Concat", parts, ["axis"]), i[0], i[1], out, n);
        break;
      }
      default:
        if (key.startsWith("com.microsoft:QLinear") || key.startsWith("QLinear")) {
          throw new Error(`dequantize: ${key} (node "${n.name}") is not supported`);
        }
        nodes.push(n);
    }
  }

  const used = new Set<string>();
  for (const n of nodes) for (const x of n.input ?? []) used.add(x);
  const keptInits = [...(g.initializer ?? []), ...newInits].filter((t) => used.has(t.name!));
  const keptNames = new Set(keptInits.map((t) => t.name));
  return onnxNs.ModelProto.create({
    ...model,
    graph: onnxNs.GraphProto.create({
      ...g,
      node: nodes,
      initializer: keptInits,
      input: (g.input ?? []).filter((v) => !inits.has(v.name!) || keptNames.has(v.name!)),
      valueInfo: [],
    }),
  });
}

/** True when the model contains quantised ops that `dequantizeModel` rewrites. */
export function isQuantized(model: ModelProto): boolean {
  return (model.graph?.node ?? []).some((n) => {
    const key = n.domain && n.domain !== "ai.onnx" ? `${n.domain}:${n.opType}` : n.opType!;
    return quantizedOps.includes(key);
  });
}
