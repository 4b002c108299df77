/**
 * What a model file takes and gives, read from its graph without a session, so that a config
 * that pairs a model with the wrong preprocessing fails before any work, naming the file.
 */
import { type ModelProto, toNumber, type ValueInfoProto } from "./proto.ts";

export type Dim = number | string;

/**
 * Dims of a value info, symbolic ones as their name (or "?"). Unlike builder.ts `valueDims` this
 * also reads messages that were built rather than decoded (no `dimParam` field at all).
 */
export function tensorDims(v: ValueInfoProto): Dim[] {
  const dims = v.type?.tensorType?.shape?.dim ?? [];
  return dims.map((d) =>
    d.dimParam
      ? d.dimParam
      : d.dimValue !== null && d.dimValue !== undefined
      ? toNumber(d.dimValue as number)
      : "?"
  );
}

export interface ModelIO {
  /** The file (or label) the model came from, for error messages. */
  source: string;
  inputName: string;
  /** [batch, C, H, W]; the batch is usually symbolic (a string). */
  inputDims: Dim[];
  outputName: string;
  outputDims: Dim[];
  /** ai.onnx opset version. */
  opset: number;
}

export interface Expected {
  classes?: number;
  channels?: number;
  height?: number;
  width?: number;
}

/** Reads a model's I/O. Inputs that are initializers (old exporters list them) are skipped. */
export function inspectModel(model: ModelProto, source = "<model>"): ModelIO {
  const g = model.graph;
  if (!g) throw new Error(`${source}: not an ONNX model (no graph)`);
  const inits = new Set((g.initializer ?? []).map((t) => t.name));
  const inputs = (g.input ?? []).filter((i) => !inits.has(i.name));
  if (inputs.length !== 1) {
    throw new Error(
      `${source}: expected exactly one image input, found ${inputs.length} (${
        inputs.map((i) => i.name).join(", ")
      })`,
    );
  }
  const outputs = g.output ?? [];
  if (outputs.length === 0) throw new Error(`${source}: the graph has no outputs`);
  const input = inputs[0];
  const inputDims = tensorDims(input);
  if (inputDims.length !== 4) {
    throw new Error(
      `${source}: input '${input.name}' has rank ${inputDims.length} [${
        inputDims.join(", ")
      }]; expected rank 4 (NCHW)`,
    );
  }
  const elem = input.type?.tensorType?.elemType;
  if (elem !== 1) {
    throw new Error(`${source}: input '${input.name}' has element type ${elem}; expected float32`);
  }
  const opsetEntry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === "ai.onnx");
  return {
    source,
    inputName: input.name!,
    inputDims,
    outputName: outputs[0].name!,
    outputDims: tensorDims(outputs[0]),
    opset: opsetEntry ? toNumber(opsetEntry.version as number) : 0,
  };
}

/** Number of classes when the output's last dim is fixed, else undefined. */
export function classCount(io: ModelIO): number | undefined {
  const d = io.outputDims[io.outputDims.length - 1];
  return typeof d === "number" ? d : undefined;
}

/** Throws, naming the file, when the model disagrees with the classes or preprocessing expected. */
export function checkModel(io: ModelIO, expected: Expected): void {
  const [, c, h, w] = io.inputDims;
  const check = (what: string, got: Dim, want: number | undefined, hint: string) => {
    if (want !== undefined && typeof got === "number" && got !== want) {
      throw new Error(
        `${io.source}: ${what} of input '${io.inputName}' is ${got}, but ${want} is expected ${hint}`,
      );
    }
  };
  check("channel count", c, expected.channels, "by the preprocessing");
  check("height", h, expected.height, "by the preprocessing (crop size)");
  check("width", w, expected.width, "by the preprocessing (crop size)");
  const classes = classCount(io);
  if (expected.classes !== undefined && classes !== undefined && classes !== expected.classes) {
    throw new Error(
      `${io.source}: output '${io.outputName}' has ${classes} classes, but the dataset has ${expected.classes}`,
    );
  }
  if (io.outputDims.length < 2) {
    throw new Error(
      `${io.source}: output '${io.outputName}' has rank ${io.outputDims.length}; expected [N, classes]`,
    );
  }
}
