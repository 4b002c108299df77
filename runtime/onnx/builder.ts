/**
 * Small constructors for ONNX messages, so that graph transforms (the mask wrapper, the gradient
 * builder, dequantisation) read as lists of nodes rather than protobuf plumbing.
 */
import {
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  onnxNs,
  type TensorProto,
  toNumber,
  type ValueInfoProto,
} from "./proto.ts";

/** TensorProto.DataType values used here. */
export const DType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  DOUBLE: 11,
} as const;

export type AttrValue = number | string | number[] | string[] | TensorProto | GraphProto;

/** Builds an AttributeProto; integers vs floats are chosen by `floats` (names listed there are floats). */
export function attribute(name: string, value: AttrValue, isFloat = false): AttributeProto {
  const A = onnxNs.AttributeProto.AttributeType;
  if (typeof value === "string") {
    return onnxNs.AttributeProto.create({
      name,
      type: A.STRING,
      s: new TextEncoder().encode(value),
    });
  }
  if (typeof value === "number") {
    return isFloat || !Number.isInteger(value)
      ? onnxNs.AttributeProto.create({ name, type: A.FLOAT, f: value })
      : onnxNs.AttributeProto.create({ name, type: A.INT, i: value });
  }
  if (Array.isArray(value)) {
    if (value.length > 0 && typeof value[0] === "string") {
      const enc = new TextEncoder();
      return onnxNs.AttributeProto.create({
        name,
        type: A.STRINGS,
        strings: (value as string[]).map((s) => enc.encode(s)),
      });
    }
    const nums = value as number[];
    return isFloat || nums.some((v) => !Number.isInteger(v))
      ? onnxNs.AttributeProto.create({ name, type: A.FLOATS, floats: nums })
      : onnxNs.AttributeProto.create({ name, type: A.INTS, ints: nums });
  }
  if ("node" in (value as GraphProto)) {
    return onnxNs.AttributeProto.create({ name, type: A.GRAPH, g: value as GraphProto });
  }
  return onnxNs.AttributeProto.create({ name, type: A.TENSOR, t: value as TensorProto });
}

/** Attributes given as a record; keys listed in `floatKeys` are stored as floats even if integral. */
export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attrs: Record<string, AttrValue> = {},
  opts: { name?: string; floatKeys?: string[]; domain?: string } = {},
): NodeProto {
  return onnxNs.NodeProto.create({
    opType,
    input: inputs,
    output: outputs,
    name: opts.name ?? `${opType}_${outputs[0]}`,
    domain: opts.domain ?? "",
    attribute: Object.entries(attrs).map(([k, v]) =>
      attribute(k, v, opts.floatKeys?.includes(k) ?? false)
    ),
  });
}

export function floatTensor(name: string, dims: number[], data: ArrayLike<number>): TensorProto {
  const f = Float32Array.from(data);
  return onnxNs.TensorProto.create({
    name,
    dims,
    dataType: DType.FLOAT,
    rawData: new Uint8Array(f.buffer, f.byteOffset, f.byteLength),
  });
}

export function int64Tensor(name: string, dims: number[], data: ArrayLike<number>): TensorProto {
  const b = BigInt64Array.from(Array.from(data, (v) => BigInt(v)));
  return onnxNs.TensorProto.create({
    name,
    dims,
    dataType: DType.INT64,
    rawData: new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
  });
}

/** A value info with symbolic dims given as strings ("batch") and fixed dims as numbers. */
export function valueInfo(
  name: string,
  elemType: number,
  dims: (number | string)[],
): ValueInfoProto {
  return onnxNs.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: {
          dim: dims.map((d) => typeof d === "number" ? { dimValue: d } : { dimParam: d }),
        },
      },
    },
  });
}

/** Dims of a value info, symbolic ones as their parameter name (or "?"). */
export function valueDims(v: ValueInfoProto): (number | string)[] {
  const dims = v.type?.tensorType?.shape?.dim ?? [];
  return dims.map((d) =>
    d.dimValue !== null && d.dimValue !== undefined && !d.dimParam
      ? toNumber(d.dimValue as number)
      : (d.dimParam || "?")
  );
}

/** Reads an attribute by name as a plain JS value (ints as numbers). */
/** Whether `n` is a standard ONNX op (the default domain). */
export const isDefaultDomain = (n: NodeProto) => !n.domain || n.domain === "ai.onnx";

/** The nodes reading each tensor, once per input slot (a node using it twice is listed twice). */
export function consumersOf(nodes: readonly NodeProto[]): Map<string, NodeProto[]> {
  const users = new Map<string, NodeProto[]>();
  for (const n of nodes) {
    for (const i of n.input ?? []) {
      const u = users.get(i);
      if (u) u.push(n);
      else users.set(i, [n]);
    }
  }
  return users;
}

export function getAttr(n: NodeProto, name: string): AttrValue | undefined {
  const a = (n.attribute ?? []).find((x) => x.name === name);
  if (!a) return undefined;
  const A = onnxNs.AttributeProto.AttributeType;
  switch (a.type) {
    case A.INT:
      return toNumber(a.i as number);
    case A.FLOAT:
      return a.f ?? 0;
    case A.STRING:
      return new TextDecoder().decode(a.s ?? new Uint8Array());
    case A.INTS:
      return (a.ints ?? []).map((v) => toNumber(v as number));
    case A.FLOATS:
      return [...(a.floats ?? [])];
    case A.STRINGS:
      return (a.strings ?? []).map((s) => new TextDecoder().decode(s));
    case A.TENSOR:
      return a.t as TensorProto;
    case A.GRAPH:
      return a.g as GraphProto;
    default:
      return undefined;
  }
}

/** Default opset version of the model's ai.onnx domain. */
export function opsetVersion(model: ModelProto): number {
  const o = (model.opsetImport ?? []).find((x) => !x.domain || x.domain === "ai.onnx");
  return o ? toNumber(o.version as number) : 0;
}

/** A minimal model around a graph, at the given opset. */
export function makeModel(graph: GraphProto, opset = 17): ModelProto {
  return onnxNs.ModelProto.create({
    irVersion: 8,
    producerName: "xcompare",
    opsetImport: [{ domain: "", version: opset }],
    graph,
  });
}

export function makeGraph(
  name: string,
  nodes: NodeProto[],
  inputs: ValueInfoProto[],
  outputs: ValueInfoProto[],
  initializers: TensorProto[] = [],
): GraphProto {
  return onnxNs.GraphProto.create({
    name,
    node: nodes,
    input: inputs,
    output: outputs,
    initializer: initializers,
  });
}
