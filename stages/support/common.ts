/**
 * What every stage needs from the config: the dataset's items in order, chunks of them (the unit
 * of caching for per-image work), and the resolved models. Memoised per process.
 */
import type { Config } from "../../configs/schema.ts";
import {
  type Dataset,
  type LabelChecks,
  listFolderWithLabels,
  listImagenetVal,
} from "../../runtime/datasets.ts";
import { type ModelSpec, resolveModels } from "../../runtime/registry.ts";
import type { UnitPlan, UnitRef } from "../../pipeline/stage.ts";

const datasetCache = new Map<string, Promise<Dataset>>();
const modelCache = new Map<
  string,
  Promise<{ models: ModelSpec[]; skipped: { id: string; reason: string }[] }>
>();

/**
 * The dataset's items in order, with labels checked against the models' classes (the fewest any
 * model has), unless `modelClasses` is false: `xcompare plan` counts images without the models.
 * With `dataset.lenient`, images of unknown classes or without a labels row are skipped and listed
 * (`Dataset.skipped`); otherwise they are an error naming the line or file.
 */
export function dataset(config: Config, o = { modelClasses: true }): Promise<Dataset> {
  const d = config.dataset;
  const key = JSON.stringify([d, o.modelClasses]);
  let p = datasetCache.get(key);
  if (!p) {
    p = (async () => {
      const checks: LabelChecks = {
        lenient: d.lenient ?? false,
        knownClasses: o.modelClasses ? await fewestClasses(config) : undefined,
      };
      if (d.kind === "folder") {
        if (!d.labels) throw new Error(`config.dataset.labels: required for kind "folder"`);
      }
      try {
        return d.kind === "folder"
          ? await listFolderWithLabels(d.dir, d.labels!, {
            ...checks,
            classes: d.classes,
            first: d.first,
          })
          : await listImagenetVal(d.dir, {
            ...checks,
            labels: d.labels,
            first: d.first,
            classes: d.classes,
          });
      } catch (e) {
        throw new Error(`config.dataset: ${(e as Error).message}`, { cause: e });
      }
    })();
    datasetCache.set(key, p);
  }
  return p;
}

/** The classes every model has: the fewest of any model, named by that model. */
async function fewestClasses(config: Config): Promise<LabelChecks["knownClasses"]> {
  const { models: ms } = await models(config);
  if (ms.length === 0) return undefined;
  const fewest = ms.reduce((a, m) => (m.classes < a.classes ? m : a));
  return { count: fewest.classes, source: `model ${fewest.id}` };
}

export function models(
  config: Config,
): Promise<{ models: ModelSpec[]; skipped: { id: string; reason: string }[] }> {
  const key = JSON.stringify([config.models, config.baseline]);
  let p = modelCache.get(key);
  if (!p) {
    p = resolveModels(config.models, config.baseline);
    modelCache.set(key, p);
  }
  return p;
}

export interface Chunk {
  index: number;
  /** Dataset positions [start, end). */
  start: number;
  end: number;
}

/** Chunks of `size` covering the first `limit` items (all when limit is 0 or absent). */
export function chunksOf(total: number, size: number, limit?: number): Chunk[] {
  const n = limit ? Math.min(limit, total) : total;
  const out: Chunk[] = [];
  for (let s = 0, i = 0; s < n; s += size, i++) {
    out.push({ index: i, start: s, end: Math.min(n, s + size) });
  }
  return out;
}

export const chunkId = (c: number) => `c${String(c).padStart(4, "0")}`;

export const preprocessRef = (m: ModelSpec, c: number): UnitRef => ({
  stage: "preprocess",
  unit: `${m.preprocessKey}/${chunkId(c)}`,
});

export const baselinesRef = (m: ModelSpec): UnitRef => ({ stage: "infer-baselines", unit: m.id });

/** Params every model-dependent unit carries: what identifies the model's numbers. */
export function modelParams(m: ModelSpec) {
  return {
    id: m.id,
    onnx: m.onnx,
    preprocess: m.preprocess,
    classes: m.classes,
  };
}

/** The resolved model a unit id starts with (`<model>/...`), or a clear error. */
export async function modelOf(config: Config, unitId: string): Promise<ModelSpec> {
  const id = unitId.split("/")[0];
  const m = (await models(config)).models.find((x) => x.id === id);
  if (!m) throw new Error(`unit ${unitId}: no model "${id}" in the config`);
  return m;
}

/**
 * A stage's params as a unit's key carries them: without the stage's image count, since each unit
 * carries its own (`count`). So raising `images` adds chunks and keeps every finished one.
 */
export function unitKeyParams<P extends { images: number }>(params: P): Omit<P, "images"> {
  const { images: _, ...rest } = params;
  return rest;
}

/**
 * One unit per (model, chunk of the first `images` dataset images), reading the chunk's tensors
 * and the model's predictions: the shape of every per-image explanation stage.
 */
export async function perModelChunk(
  config: Config,
  images: number,
  params: (m: ModelSpec, chunk: Chunk) => Record<string, unknown>,
): Promise<UnitPlan[]> {
  const ds = await dataset(config);
  const { models: ms } = await models(config);
  const chunks = chunksOf(ds.items.length, config.dataset.chunk, images);
  return ms.flatMap((m) =>
    chunks.map((c) => ({
      id: `${m.id}/${chunkId(c.index)}`,
      params: { model: modelParams(m), count: c.end - c.start, ...params(m, c) },
      inputs: [preprocessRef(m, c.index), baselinesRef(m)],
      files: [m.onnx],
      runtime: true,
    }))
  );
}
