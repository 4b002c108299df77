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
import type { BlurFractions } from "./blur.ts";
import { type LastBlock, lastBlockFromCard } from "./last_block.ts";
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
  /** The activation figure's tensor and its layout (the card's `last_block_*`). */
  lastBlock: LastBlock | null;
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

/** Cards already warned about a missing layout, so a config loaded again does not repeat it. */
const warnedLayout = new Set<string>();

/** The card's last block; a card without its layout gets one warning (rank decides, §6). */
function lastBlockOf(card: Record<string, unknown> | null, cardPath: string): LastBlock | null {
  const block = lastBlockFromCard(card, cardPath);
  if (block && !block.layout && !warnedLayout.has(cardPath)) {
    warnedLayout.add(cardPath);
    console.warn(
      `${cardPath}: no last_block_layout; Fig. 5 reads a rank-4 ${block.tensor} as NCHW ` +
        `(write "NHWC" there for a channels-last network such as Swin)`,
    );
  }
  return block;
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
 * A config's baseline: the paper's blur (`blur`, scaled to the input), `zero`, or a blur given as
 * fractions of the image side.
 */
export type BaselineChoice = PreprocessOptions["baseline"] | { blur: BlurFractions };

/** The preprocess options a baseline choice sets (a plain `blur` keeps the card's blur). */
function baselineOptions(b: BaselineChoice): Partial<PreprocessOptions> {
  return typeof b === "string" ? { baseline: b } : { baseline: "blur", blur: { ...b.blur } };
}

/**
 * The card a model file implies: `m.onnx` -> `m.json`. A file without the `.onnx` suffix gets
 * `<file>.json`, never itself (which would read the model as its own card).
 */
export function cardBeside(onnx: string): string {
  return /\.onnx$/i.test(onnx) ? onnx.replace(/\.onnx$/i, ".json") : `${onnx}.json`;
}

/**
 * Every required model whose ONNX file is absent, all at once: a paper config on a fresh machine
 * misses most of its models, and naming them one run at a time wastes a run each.
 */
export async function missingModelFiles(
  entries: ModelEntry[],
  where = "config",
): Promise<string[]> {
  const missing: string[] = [];
  for (const [i, m] of entries.entries()) {
    if (!m.optional && !(await exists(m.onnx))) {
      missing.push(`${where}.models[${i}] (${m.id}): ${m.onnx}`);
    }
  }
  return missing;
}

/** The error that names every missing required model file. */
export function missingModelsError(
  missing: string[],
  entries: ModelEntry[],
  source: string,
): Error {
  const required = entries.filter((m) => !m.optional).length;
  // A model from the shared folder is not exported: that folder is simply absent on this machine.
  const shared = missing.every((m) => /: \.\.\/shared\//.test(m));
  const next = shared
    ? "this config needs ../shared (the project's shared models and ImageNet sample), not found here"
    : `export them first (tools/export/README.md), or mark a model "optional": true`;
  return new Error(
    `${source}: ${missing.length} of ${required} required model files not found:\n  ${
      missing.join("\n  ")
    }\n${next}`,
  );
}

/**
 * Resolves every configured model. Optional models whose ONNX file is absent are returned in
 * `skipped` with a reason; a required one that is absent is an error naming the file.
 */
export async function resolveModels(
  entries: ModelEntry[],
  baseline: BaselineChoice,
  where = "config",
): Promise<{ models: ModelSpec[]; skipped: { id: string; reason: string }[] }> {
  const models: ModelSpec[] = [];
  const skipped: { id: string; reason: string }[] = [];
  const missing = await missingModelFiles(entries, where);
  if (missing.length) throw missingModelsError(missing, entries, where);
  for (const [i, m] of entries.entries()) {
    const at = `${where}.models[${i}] (${m.id})`;
    // Every absent required model was named above: an absent one here is optional.
    if (!(await exists(m.onnx))) {
      skipped.push({ id: m.id, reason: `${m.onnx} not found (optional model)` });
      continue;
    }
    const cardPath = m.card ?? cardBeside(m.onnx);
    const card = await readCard(cardPath);
    if (m.card && !card) throw new Error(`${at}: card ${m.card} not found`);
    const cardPre = (card?.preprocess ?? {}) as Record<string, unknown>;
    const merged = {
      ...cardPre,
      ...Object.fromEntries(Object.entries(m.preprocess).filter(([, v]) => v !== undefined)),
    };
    const preprocess = {
      // The block merges the card's and the config's: a bad value may be in either file.
      ...optionsFromCard(merged, card ? `${at} with card ${cardPath}` : at, imageDefaults),
      ...baselineOptions(baseline),
    };
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
      lastBlock: lastBlockOf(card, cardPath),
    });
  }
  return { models, skipped };
}
