/**
 * cross-test (METHODS §4-5): heatmaps of model A scored by insertion and deletion on model B, for
 * every ordered pair, cached per (A, B, chunk) so adding a model computes only its row and column.
 */
import type { Config } from "../configs/schema.ts";
import { bool, int, obj, optional } from "../lib/schema.ts";
import type { Stage } from "../pipeline/stage.ts";
import { decodeNpy, encodeNpy } from "../runtime/npy.ts";
import { insertionCurves } from "../explain/insertion.ts";
import {
  baselinesRef,
  chunkId,
  chunksOf,
  dataset,
  modelOf,
  modelParams,
  models,
  preprocessRef,
  unitKeyParams,
} from "./support/common.ts";
import { openScorer } from "./support/open_scorer.ts";
import { readChunk } from "./support/tensors.ts";
import { readPredictions } from "./support/predictions_io.ts";
import { chunks, curvePoints, limit, perModel } from "./support/cost.ts";
import type { ReportContext, ReportPart } from "./support/report_part.ts";
import type { UnitIO, UnitRef } from "../pipeline/stage.ts";
import { encodeU16, probWords } from "../report/explorer_codec.ts";
import type { ExplorerCross } from "../report/input.ts";

const params = obj({
  /** Images cross-tested (the first N that igos-heatmaps explained); 0 = all of them. */
  images: optional(int({ min: 0 }), 0),
  cellsPerStep: optional(int({ min: 1 }), 16),
  deletion: optional(bool(), true),
});

export type CrossTestParams = ReturnType<typeof params.parse>;

export const crossTest: Stage<CrossTestParams, Config, ReportContext, ReportPart> = {
  name: "cross-test",
  after: ["preprocess", "infer-baselines", "igos-heatmaps"],
  module: import.meta.url,
  params,
  async plan({ config, params, upstream }) {
    const ds = await dataset(config);
    const { models: ms } = await models(config);
    const heatUnits = new Set(upstream["igos-heatmaps"].map((u) => u.id));
    const chunks = chunksOf(ds.items.length, config.dataset.chunk, params.images)
      .filter((c) => ms.every((m) => heatUnits.has(`${m.id}/${chunkId(c.index)}`)));
    return ms.flatMap((a) =>
      ms.flatMap((b) =>
        chunks.map((c) => ({
          id: `${a.id}/${b.id}/${chunkId(c.index)}`,
          params: {
            tested: modelParams(b),
            insertion: unitKeyParams(params),
            upsample: config.upsample,
            count: c.end - c.start,
          },
          inputs: [
            { stage: "igos-heatmaps", unit: `${a.id}/${chunkId(c.index)}` },
            preprocessRef(b, c.index),
            baselinesRef(b),
          ],
          files: [b.onnx],
          runtime: true,
        }))
      )
    );
  },
  /** Model B evaluates the heatmaps of all m models: models² x images x curves x points. */
  estimate({ config, params, models, images, upstream, stageParams }) {
    const chunk = config.dataset.chunk;
    // Only images whose heatmaps exist: a unit reads its chunk's heatmaps, the first ones only.
    const n = Math.min(limit(params.images, images), upstream["igos-heatmaps"].images);
    const { maskSize } = stageParams["igos-heatmaps"] as { maskSize: number };
    const points = curvePoints(maskSize, params.cellsPerStep);
    const curves = params.deletion ? 2 : 1;
    const m = models.length;
    return {
      units: m * m * chunks(n, chunk),
      images: n,
      forward: perModel(models, m * n * curves * points),
      gradient: perModel(models, 0),
      basis: `models² x images x ${curves} curves x ${points} points`,
    };
  },
  async run(unit, io, { config, params }) {
    const b = await modelOf(config, unit.id.split("/")[1]);
    const count = (unit.params as { count: number }).count;
    const [heatRef, chunkRef, predRef] = unit.inputs;
    const meta = await io.readInputJson<
      { items: { pos: number; id: string; label: number | null }[]; maskSize: number }
    >(heatRef, "meta.json");
    const heat = decodeNpy(await io.readInput(heatRef, "heatmaps.npy")).data as Float32Array;
    const chunk = await readChunk(io, chunkRef);
    const preds = await readPredictions(io, predRef);
    const indexOf = new Map(chunk.items.map((it, k) => [it.pos, k]));
    const s2 = meta.maskSize * meta.maskSize;
    const requests = meta.items.slice(0, count).flatMap((it, k) => {
      const image = indexOf.get(it.pos);
      if (image === undefined) return [];
      const cls = it.label ?? preds.get(it.pos)!.pred;
      return [{ image, cls, heatmap: heat.subarray(k * s2, (k + 1) * s2), pos: it.pos, id: it.id }];
    });
    const scorer = await openScorer(b, chunk, config, config.upsample, [meta.maskSize]);
    try {
      const curves = await insertionCurves(requests, scorer.scorer, {
        cellsPerStep: params.cellsPerStep,
        deletion: params.deletion,
      });
      io.count("modelEvals", scorer.stats().masks);
      io.timings("scorer", scorer.stats());
      const points = curves[0]?.insertion.length ?? 0;
      const flat = new Float32Array(curves.length * 2 * points);
      curves.forEach((c, k) => {
        flat.set(c.insertion, k * 2 * points);
        if (c.deletion) flat.set(c.deletion, k * 2 * points + points);
      });
      await io.write("curves.npy", encodeNpy(flat, [curves.length, 2, points]));
      await io.writeJson("auc.json", {
        source: unit.id.split("/")[0],
        tested: b.id,
        fractions: curves[0] ? Array.from(curves[0].fractions) : [],
        images: requests.map((r, k) => ({
          pos: r.pos,
          id: r.id,
          cls: r.cls,
          insertionAuc: curves[k].insertionAuc,
          deletionAuc: curves[k].deletionAuc ?? null,
        })),
      });
    } finally {
      await scorer.close();
    }
  },
  /**
   * Fig. 3: each model's insertion curve on its own heatmap of the figures' image; and, for the
   * explorer, the curves of every source model's heatmaps on every model, on its images.
   */
  async summarise(io, ctx) {
    const explored = await explorerCross(io, ctx);
    const explorer = explored ? { cross: explored } : {};
    const { models, units, sample } = ctx;
    if (!sample) return { explorer };
    const curves = [];
    for (const id of models) {
      const ref = units("cross-test").find((r) => r.unit === `${id}/${id}/c0000`);
      if (!ref) continue;
      const auc = await io.readInputJson<{ fractions: number[]; images: { id: string }[] }>(
        ref,
        "auc.json",
      );
      const k = auc.images.findIndex((im) => im.id === sample.id);
      if (k < 0) continue;
      const cv = decodeNpy(await io.readInput(ref, "curves.npy"));
      const pts = cv.shape[2];
      curves.push({
        model: id,
        x: auc.fractions,
        y: Array.from((cv.data as Float32Array).subarray(k * 2 * pts, k * 2 * pts + pts)),
      });
    }
    if (!curves.length) return { explorer };
    return {
      figures: { insertion: { image_id: sample.id, class_label: sample.classLabel, curves } },
      explorer,
    };
  },
};

/** Insertion and deletion curves of each source's heatmaps on every tested model. */
async function explorerCross(io: UnitIO, { models, units, explorer }: ReportContext) {
  if (!explorer) return undefined;
  const wanted = new Set(explorer.images);
  const byUnit = new Map(units("cross-test").map((r) => [r.unit, r]));
  const chunkIds = [
    ...new Set(units("cross-test").map((r) => r.unit.slice(r.unit.lastIndexOf("/") + 1))),
  ]
    .sort();
  const entries: Record<string, Record<string, ExplorerCross>> = {};
  let fractions: number[] | undefined;
  for (const a of models) {
    for (const chunk of chunkIds) {
      type Read = { b: string; auc: StoredAuc; curves: Float32Array; points: number };
      const reads: Read[] = [];
      for (const b of models) {
        const ref: UnitRef | undefined = byUnit.get(`${a}/${b}/${chunk}`);
        if (!ref) continue;
        const auc = await io.readInputJson<StoredAuc>(ref, "auc.json");
        if (!auc.images.some((im) => wanted.has(im.id))) continue;
        const cv = decodeNpy(await io.readInput(ref, "curves.npy"));
        reads.push({ b, auc, curves: cv.data as Float32Array, points: cv.shape[2] ?? 0 });
        fractions ??= auc.fractions;
      }
      const ids = new Set(reads.flatMap((r) => r.auc.images.map((im) => im.id)));
      for (const image of [...ids].filter((x) => wanted.has(x))) {
        const rows = reads.flatMap((r) => {
          const k = r.auc.images.findIndex((im) => im.id === image);
          return k < 0 ? [] : [{ ...r, k, im: r.auc.images[k] }];
        });
        const points = rows[0]?.points ?? 0;
        const flat = new Float32Array(rows.length * 2 * points);
        rows.forEach((r, j) => {
          flat.set(r.curves.subarray(r.k * 2 * points, (r.k + 1) * 2 * points), j * 2 * points);
        });
        (entries[a] ??= {})[image] = {
          tested: rows.map((r) => r.b),
          curves: encodeU16(probWords(flat)),
          deletion: rows.every((r) => r.im.deletionAuc !== null),
          insertion_auc: rows.map((r) => Math.round(r.im.insertionAuc * 1e4) / 1e4),
          deletion_auc: rows.map((r) =>
            r.im.deletionAuc === null ? null : Math.round(r.im.deletionAuc * 1e4) / 1e4
          ),
          cls: rows.map((r) => r.im.cls),
        };
      }
      // The explorer's images are the dataset's first: later chunks have none of them.
      if (Object.keys(entries[a] ?? {}).length === wanted.size) break;
    }
  }
  return fractions ? { fractions, entries } : undefined;
}

interface StoredAuc {
  fractions: number[];
  images: { id: string; cls: number; insertionAuc: number; deletionAuc: number | null }[];
}
