/**
 * Reads the values of small constant tensors (initializers, Constant nodes): the gradient builder
 * needs them to fold BatchNormalization statistics and read static axes/pads, dequantisation needs
 * them to turn int8 weights into floats. Handles both `rawData` and the typed repeated fields.
 */
import { DType } from "../builder.ts";
import { type NodeProto, type TensorProto, toNumber } from "../proto.ts";

/** A constant as plain numbers (int64 values beyond 2^53 lose precision; none matter here). */
export interface ConstValue {
  dims: number[];
  dataType: number;
  data: Float64Array;
}

function rawView(t: TensorProto): DataView | undefined {
  const r = t.rawData;
  if (!r || r.length === 0) return undefined;
  return new DataView(r.buffer, r.byteOffset, r.byteLength);
}

/** Decodes a tensor's values; an external or unsupported tensor is a clear error naming it. */
export function readTensor(t: TensorProto): ConstValue {
  const dims = (t.dims ?? []).map((d) => toNumber(d as number));
  const n = dims.reduce((a, b) => a * b, 1);
  const dataType = t.dataType ?? 0;
  if (t.dataLocation === 1) throw new Error(`tensor ${t.name}: external data is not supported`);
  const out = new Float64Array(n);
  const v = rawView(t);
  if (v) {
    const get: (i: number) => number = (() => {
      switch (dataType) {
        case DType.FLOAT:
          return (i: number) => v.getFloat32(4 * i, true);
        case DType.DOUBLE:
          return (i: number) => v.getFloat64(8 * i, true);
        case DType.UINT8:
        case DType.BOOL:
          return (i: number) => v.getUint8(i);
        case DType.INT8:
          return (i: number) => v.getInt8(i);
        case DType.INT32:
          return (i: number) => v.getInt32(4 * i, true);
        case DType.INT64:
          return (i: number) => Number(v.getBigInt64(8 * i, true));
        case 4: // UINT16
          return (i: number) => v.getUint16(2 * i, true);
        case 5: // INT16
          return (i: number) => v.getInt16(2 * i, true);
        default:
          throw new Error(`tensor ${t.name}: data type ${dataType} is not supported`);
      }
    })();
    if (v.byteLength < n * elemSize(dataType)) {
      throw new Error(`tensor ${t.name}: raw data holds fewer than ${n} values`);
    }
    for (let i = 0; i < n; i++) out[i] = get(i);
    return { dims, dataType, data: out };
  }
  const src: ArrayLike<number | { toNumber(): number }> = dataType === DType.FLOAT
    ? t.floatData ?? []
    : dataType === DType.DOUBLE
    ? t.doubleData ?? []
    : dataType === DType.INT64
    ? (t.int64Data ?? []) as ArrayLike<number | { toNumber(): number }>
    : t.int32Data ?? [];
  if (src.length !== n) {
    throw new Error(`tensor ${t.name}: expected ${n} values, found ${src.length}`);
  }
  for (let i = 0; i < n; i++) out[i] = toNumber(src[i] as number);
  return { dims, dataType, data: out };
}

function elemSize(dataType: number): number {
  switch (dataType) {
    case DType.DOUBLE:
    case DType.INT64:
      return 8;
    case DType.FLOAT:
    case DType.INT32:
      return 4;
    case 4:
    case 5:
      return 2;
    default:
      return 1;
  }
}

/** The tensor a Constant node produces, from whichever `value*` attribute it carries. */
export function constantNodeValue(n: NodeProto): ConstValue {
  for (const a of n.attribute ?? []) {
    switch (a.name) {
      case "value":
        return readTensor(a.t as TensorProto);
      case "value_float":
        return { dims: [], dataType: DType.FLOAT, data: Float64Array.of(a.f ?? 0) };
      case "value_floats":
        return {
          dims: [(a.floats ?? []).length],
          dataType: DType.FLOAT,
          data: Float64Array.from(a.floats ?? []),
        };
      case "value_int":
        return { dims: [], dataType: DType.INT64, data: Float64Array.of(toNumber(a.i as number)) };
      case "value_ints":
        return {
          dims: [(a.ints ?? []).length],
          dataType: DType.INT64,
          data: Float64Array.from((a.ints ?? []).map((x) => toNumber(x as number))),
        };
    }
  }
  throw new Error(`Constant node ${n.name}: no supported value attribute`);
}
