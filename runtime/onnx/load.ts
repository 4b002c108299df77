/**
 * The one way a model enters the runtime: a path or bytes are read and decoded, the graph's input
 * and output inspected, and checked against the C×H×W and class count the caller expects, so that
 * the Scorer, forward passes, gradients, sessions and the registry fail alike on a bad file. Every
 * error names the file (`<model>` for bytes) and the reason, never the file's contents.
 */
import { checkModel, classCount, type Expected, inspectModel, type ModelIO } from "./inspect.ts";
import { decodeModel, type ModelProto } from "./proto.ts";

/** A model as callers hold it: a file path, the file's bytes, or a decoded proto. */
export type ModelSource = string | Uint8Array | ModelProto;

/** A model decoded, inspected and checked. */
export interface LoadedModel {
  /** The path, or `<model>`: what errors name. */
  source: string;
  proto: ModelProto;
  io: ModelIO;
  /** The input's [C, H, W], all fixed. */
  inputShape: [number, number, number];
  /** The output's fixed class count, or the one expected where the model leaves it open. */
  classes: number;
}

/** What errors call `model`: its path, or `<model>`. */
export function modelLabel(model: ModelSource): string {
  return typeof model === "string" ? model : "<model>";
}

/** A model file's bytes; a failure names the path and the reason. */
export async function readModelFile(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read model (${(e as Error).message})`);
  }
}

/** The decoded model, read first when `model` is a path. */
export async function decodeModelSource(
  model: ModelSource,
  source = modelLabel(model),
): Promise<ModelProto> {
  if (typeof model === "string") return decodeModel(await readModelFile(model), source);
  return model instanceof Uint8Array ? decodeModel(model, source) : model;
}

/**
 * Reads, decodes and inspects `model`, and checks it against `expected`. The input must have a
 * fixed C, H and W, and the output a class count (fixed, or given by `expected.classes`).
 */
export async function loadModel(model: ModelSource, expected: Expected = {}): Promise<LoadedModel> {
  const source = modelLabel(model);
  const proto = await decodeModelSource(model, source);
  const io = inspectModel(proto, source);
  checkModel(io, expected);
  const [, c, h, w] = io.inputDims;
  if (typeof c !== "number" || typeof h !== "number" || typeof w !== "number") {
    throw new Error(
      `${source}: input '${io.inputName}' needs fixed C, H, W, got [${io.inputDims}]`,
    );
  }
  const classes = classCount(io) ?? expected.classes;
  if (classes === undefined) {
    throw new Error(
      `${source}: output '${io.outputName}' has no fixed class count and none is given ` +
        `(a model card's output.classes)`,
    );
  }
  return { source, proto, io, inputShape: [c, h, w], classes };
}
