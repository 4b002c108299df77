/**
 * The model registry: a config's model entries merged with the card JSON beside each ONNX file,
 * checked against the model's own input/output shapes before any work starts.
 */
import { hashJson } from "../lib/hash.ts";
import {
  defaults as imageDefaults,
  optionsFromCard,
  type PreprocessOptions,
} from "./preprocess_options.ts";
import type { Expected, ModelIO } from "./onnx/inspect.ts";
import { type LoadedModel, loadModel } from "./onnx/load.ts";
import { jsonSyntaxReason } from "../lib/json_reason.ts";

export interface ModelEntry {
  id: string;
  name?: string;
  onnx: string;
  card?: string;
  group?: string;
  preprocess: Record<string, unknown>;
  optional: boolean;
}

export interface ModelSpec {
  id: string;
  /** Display name: the config's `name`, else the id. */
  name: string;
  group: string;
  onnx: string;
  cardPath: string | null;
  card: Record<string, unknown> | null;
  preprocess: PreprocessOptions;
  /** Models with equal keys share preprocessed tensors. */
  preprocessKey: string;
  classes: number;
  io: ModelIO;
  /** Intermediate tensor for the activation figure (the card's `last_block_tensor`). */
  lastBlockTensor: string | null;
}

async function readCard(path: string): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Error(`${path}: cannot read model card (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: model card is not valid JSON (${jsonSyntaxReason(e)})`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Checked models by file and expectation, without their protos (the weights are not kept). */
const loadedCache = new Map<string, Omit<LoadedModel, "proto">>();

/** `loadModel` of a file, once per file and expectation in this process. */
async function loadModelOnce(
  path: string,
  expected: Expected,
): Promise<Omit<LoadedModel, "proto">> {
  const key = JSON.stringify([path, expected]);
  let checked = loadedCache.get(key);
  if (!checked) {
    const { proto: _, ...rest } = await loadModel(path, expected);
    loadedCache.set(key, checked = rest);
  }
  return checked;
}

/**
 * Resolves every configured model. Optional models whose ONNX file is absent are returned in
 * `skipped` with a reason; a required one that is absent is an error naming the file.
 */
export async function resolveModels(
  entries: ModelEntry[],
  baseline: PreprocessOptions["baseline"],
  where = "config",
): Promise<{ models: ModelSpec[]; skipped: { id: string; reason: string }[] }> {
  const models: ModelSpec[] = [];
  const skipped: { id: string; reason: string }[] = [];
  for (const [i, m] of entries.entries()) {
    const at = `${where}.models[${i}] (${m.id})`;
    if (!(await exists(m.onnx))) {
      if (m.optional) {
        skipped.push({ id: m.id, reason: `${m.onnx} not found (optional model)` });
        continue;
      }
      throw new Error(`${at}: model file ${m.onnx} not found`);
    }
    const cardPath = m.card ?? m.onnx.replace(/\.onnx$/i, ".json");
    const card = await readCard(cardPath);
    if (m.card && !card) throw new Error(`${at}: card ${m.card} not found`);
    const cardPre = (card?.preprocess ?? {}) as Record<string, unknown>;
    const merged = {
      ...cardPre,
      ...Object.fromEntries(Object.entries(m.preprocess).filter(([, v]) => v !== undefined)),
    };
    const preprocess = { ...optionsFromCard(merged, at, imageDefaults), baseline };
    const { io, classes } = await loadModelOnce(m.onnx, {
      channels: preprocess.channels,
      height: preprocess.center_crop ?? undefined,
      width: preprocess.center_crop ?? undefined,
      classes: (card?.output as { classes?: number } | undefined)?.classes,
    });
    models.push({
      id: m.id,
      name: m.name ?? m.id,
      group: m.group ?? (card?.group as string | undefined) ?? "ungrouped",
      onnx: m.onnx,
      cardPath: card ? cardPath : null,
      card,
      preprocess,
      preprocessKey: hashJson(preprocess).slice(0, 12),
      classes,
      io,
      lastBlockTensor: (card?.last_block_tensor as string | undefined) ?? null,
    });
  }
  return { models, skipped };
}
