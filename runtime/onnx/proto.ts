/**
 * ONNX ModelProto decode/encode. Decoding keeps tensor `rawData` as views into the file's bytes,
 * so big weights are never copied.
 */
import onnxProto from "onnx-proto";

// deno-lint-ignore no-explicit-any
const { onnx } = onnxProto as any;

export type ModelProto = import("onnx-proto").onnx.IModelProto;
export type GraphProto = import("onnx-proto").onnx.IGraphProto;
export type NodeProto = import("onnx-proto").onnx.INodeProto;
export type TensorProto = import("onnx-proto").onnx.ITensorProto;
export type ValueInfoProto = import("onnx-proto").onnx.IValueInfoProto;
export type AttributeProto = import("onnx-proto").onnx.IAttributeProto;

/** The generated protobuf namespace, for building new messages (`onnx.NodeProto.create(...)`). */
export const onnxNs = onnx as typeof import("onnx-proto").onnx;

/** Decodes an ONNX file's bytes; a clear error names `source` when they are not a model. */
export function decodeModel(bytes: Uint8Array, source = "<bytes>"): ModelProto {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`${source}: not an ONNX model (${(e as Error).message})`);
  }
  if (!model.graph || !model.graph.node || model.graph.node.length === 0) {
    throw new Error(`${source}: not an ONNX model (no graph nodes)`);
  }
  return model;
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/** protobufjs gives int64 fields as Long objects or numbers; this makes them numbers. */
export function toNumber(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === "number" ? v : v.toNumber();
}
