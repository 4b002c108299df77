/**
 * infer-baselines: per model, predictions on the full images and on the fully blurred ones:
 * top-5, ĉ and p_full (what every explanation is relative to), t and b (cross-test's
 * normalisation), accuracy, softmax outputs (for ensembles) and channel activations (Fig. 5).
 */
import type { Config } from "../configs/schema.ts";
import { int, obj, optional } from "../lib/schema.ts";
import type { Stage } from "../pipeline/stage.ts";
import type { LastBlock } from "../runtime/last_block.ts";
import { decodeNpy, encodeNpy } from "../runtime/npy.ts";
import {
  chunksOf,
  dataset,
  modelOf,
  modelParams,
  models,
  preprocessRef,
} from "./support/common.ts";
import { forwardAll } from "./support/open_forward.ts";
import { perModel } from "./support/cost.ts";
import { concatChunks, readChunk } from "./support/tensors.ts";
import type { StoredPredictions } from "./support/predictions_io.ts";
import type { ReportContext, ReportPart } from "./support/report_part.ts";
import { activationCurve, ensembleAccuracy, summarisePredictions } from "../explain/predictions.ts";
import { accuracyIntervals } from "../explain/accuracy.ts";

const params = obj({ topk: optional(int({ min: 1 }), 5) });

/** The paper's ensemble claim, shown beside ours under the `paper` config. */
const PAPER_ENSEMBLE = {
  members: { "ConvNeXt-T": 82.1, "Swin-T": 81.2, "ResNet50-C2": 80.0 },
  average_of_softmax_top1: 82.9,
};

export const inferBaselines: Stage<{ topk: number }, Config, ReportContext, ReportPart> = {
  name: "infer-baselines",
  after: ["preprocess"],
  module: import.meta.url,
  params,
  async plan({ config, params }) {
    const ds = await dataset(config);
    const { models: ms } = await models(config);
    const chunks = chunksOf(ds.items.length, config.dataset.chunk);
    return ms.map((m) => ({
      id: m.id,
      params: { model: modelParams(m), topk: params.topk, lastBlock: m.lastBlock },
      inputs: chunks.map((c) => preprocessRef(m, c.index)),
      files: [m.onnx],
      runtime: true,
    }));
  },
  estimate: ({ models, images }) => ({
    units: models.length,
    images,
    forward: perModel(models, 2 * images),
    gradient: perModel(models, 0),
    basis: "2 rows per image and model (full image, blurred image)",
  }),
  async run(unit, io, { config }) {
    const m = await modelOf(config, unit.id);
    const p = unit.params as { topk: number; lastBlock: LastBlock | null };
    const data = concatChunks(await Promise.all(unit.inputs.map((r) => readChunk(io, r))));
    const n = data.items.length;
    const full = await forwardAll(m, data.images, n, config, p.lastBlock);
    const blurred = await forwardAll(m, data.baselines, n, config);
    io.count("modelEvals", 2 * n);
    const summary = summarisePredictions(
      full.probs,
      blurred.probs,
      m.classes,
      data.items.map((it) => it.label),
      p.topk,
    );
    await io.writeJson("preds.json", {
      model: m.id,
      items: data.items.map((it, k) => ({
        pos: it.pos,
        id: it.id,
        label: it.label,
        ...summary.perImage[k],
      })),
      t: summary.t,
      b: summary.b,
      bPred: summary.bPred,
      top1: summary.top1,
      top5: summary.top5,
      images: n,
    });
    await io.write("probs.npy", encodeNpy(full.probs, [n, m.classes]));
    if (p.lastBlock && full.channelMax) {
      await io.write(
        "activations.npy",
        encodeNpy(full.channelMax, [n, full.channelMax.length / n]),
      );
    }
  },
  /**
   * Accuracy with bootstrap intervals, t and b, ensembles (from the softmax outputs), Fig. 5's
   * activation curves, and each model's prediction on the explorer's images.
   */
  async summarise(io, { config, models, units, bootstrap, explorer }) {
    const preds = new Map<string, StoredPredictions>();
    const probs = new Map<string, Float32Array>();
    const curves: { model: string; values: number[] }[] = [];
    for (const r of units("infer-baselines")) {
      const pr = await io.readInputJson<StoredPredictions>(r, "preds.json");
      preds.set(pr.model, pr);
      probs.set(pr.model, decodeNpy(await io.readInput(r, "probs.npy")).data as Float32Array);
      if (io.inputFiles(r).includes("activations.npy")) {
        const a = decodeNpy(await io.readInput(r, "activations.npy"));
        curves.push({
          model: pr.model,
          values: activationCurve(a.data as Float32Array, a.shape[0]),
        });
      }
    }
    const classes = (id: string) => probs.get(id)!.length / Math.max(1, preds.get(id)!.images);
    const labels = (id: string) => preds.get(id)!.items.map((it) => it.label);
    return {
      accuracy: {
        models: models.filter((id) => preds.has(id)).map((id) => {
          const pr = preds.get(id)!;
          const ci = accuracyIntervals(pr.items, bootstrap, id);
          return {
            model: id,
            top1: (pr.top1 ?? NaN) / 100,
            top5: (pr.top5 ?? NaN) / 100,
            t: pr.t,
            b: pr.b,
            bPred: pr.bPred,
            images: pr.images,
            ...(ci.top1 ? { top1_ci: ci.top1 } : {}),
            ...(ci.top5 ? { top5_ci: ci.top5 } : {}),
          };
        }).filter((a) => Number.isFinite(a.top1)),
        ensembles: config.ensembles.filter((e) => e.members.every((id) => probs.has(id))).map((
          e,
        ) => ({
          members: e.members,
          top1: (ensembleAccuracy(
            e.members.map((id) => probs.get(id)!),
            classes(e.members[0]),
            labels(e.members[0]),
          ) ?? NaN) / 100,
        })),
        ...(config.paperColumns ? { paper_claim: PAPER_ENSEMBLE } : {}),
      },
      figures: curves.length ? { channels: { curves } } : {},
      explorer: explorer ? { predictions: explorerPredictions(preds, explorer.images) } : {},
    };
  },
};

/** ĉ and p_full of each model on each of the explorer's images. */
function explorerPredictions(preds: Map<string, StoredPredictions>, images: string[]) {
  const wanted = new Set(images);
  const out: Record<string, Record<string, { pred: number; p: number }>> = {};
  for (const [model, pr] of preds) {
    for (const it of pr.items.filter((x) => wanted.has(x.id))) {
      (out[model] ??= {})[it.id] = { pred: it.pred, p: Math.round(it.pFull * 1e4) / 1e4 };
    }
  }
  return out;
}
