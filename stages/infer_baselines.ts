/**
 * infer-baselines: per model, predictions on the full images and on the fully blurred ones:
 * top-5, ĉ and p_full (what every explanation is relative to), t and b (cross-test's
 * normalisation), accuracy, softmax outputs (for ensembles) and channel activations (Fig. 5).
 */
import type { Config } from "../configs/schema.ts";
import { int, obj, optional } from "../lib/schema.ts";
import type { Stage } from "../pipeline/stage.ts";
import { encodeNpy } from "../runtime/npy.ts";
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
import { summarisePredictions } from "../explain/predictions.ts";

const params = obj({ topk: optional(int({ min: 1 }), 5) });

export const inferBaselines: Stage<{ topk: number }, Config> = {
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
      params: { model: modelParams(m), topk: params.topk, lastBlock: m.lastBlockTensor },
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
    const p = unit.params as { topk: number; lastBlock: string | null };
    const data = concatChunks(await Promise.all(unit.inputs.map((r) => readChunk(io, r))));
    const n = data.items.length;
    const full = await forwardAll(m, data.images, n, config, p.lastBlock ? [p.lastBlock] : []);
    const blurred = await forwardAll(m, data.baselines, n, config, []);
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
};
