/**
 * igos-heatmaps (METHODS §3): one 28x28 heatmap per (model, image), by iGOS++ (the paper's) or a
 * gradient-free method (RISE, occlusion) or plain gradients. Images of a chunk run in lockstep so
 * each model call carries the integration steps and line-search trials of all of them.
 */
import type { Config } from "../configs/schema.ts";
import { int, num, obj, oneOf, optional } from "../lib/schema.ts";
import type { Stage } from "../pipeline/stage.ts";
import { decodeNpy, encodeNpy } from "../runtime/npy.ts";
import { igosBatch } from "../explain/igos.ts";
import { gradientSaliency, occlusion, occlusionDefaults, rise } from "../explain/saliency.ts";
import { overlayPng } from "../runtime/overlay.ts";
import { modelOf, perModelChunk, unitKeyParams } from "./support/common.ts";
import { openScorer } from "./support/open_scorer.ts";
import { openGradientModel } from "./support/open_gradient.ts";
import { readChunk } from "./support/tensors.ts";
import { readPredictions } from "./support/predictions_io.ts";
import { chunks, igosRows, limit, lineSearchTrials, perModel } from "./support/cost.ts";
import type { ReportContext, ReportPart } from "./support/report_part.ts";
import { cellOrder } from "../explain/insertion.ts";
import { encodeU16, encodeU8, saliencyBytes } from "../report/explorer_codec.ts";
import type { ExplorerHeatmap } from "../report/input.ts";
import type { UnitIO } from "../pipeline/stage.ts";

const params = obj({
  /** Images explained (the first N of the dataset); 0 = all. */
  images: optional(int({ min: 0 }), 0),
  method: optional(oneOf("igos++", "rise", "occlusion", "gradient"), "igos++"),
  maskSize: optional(int({ min: 2 }), 28),
  iterations: optional(int({ min: 1 }), 20),
  steps: optional(int({ min: 1 }), 20),
  l1: optional(num({ min: 0 }), 10),
  l2: optional(num({ min: 0 }), 20),
  noise: optional(num({ min: 0 }), 0.2),
  seed: optional(int({ min: 0 }), 0),
  riseMasks: optional(int({ min: 1 }), 2000),
  /** Overlay PNGs for the first N images of the first chunk. */
  overlays: optional(int({ min: 0 }), 4),
});

export type IgosParams = ReturnType<typeof params.parse>;

export const igosHeatmaps: Stage<IgosParams, Config, ReportContext, ReportPart> = {
  name: "igos-heatmaps",
  after: ["preprocess", "infer-baselines"],
  module: import.meta.url,
  params,
  plan: ({ config, params }) =>
    perModelChunk(config, params.images, (_, c) => ({
      heatmaps: unitKeyParams(params),
      overlays: c.index === 0 ? params.overlays : 0,
    })),
  async estimate({ config, params, models, images, finished }) {
    const n = limit(params.images, images);
    // Measured here whatever the method: mse-search's I-GOS 7x7 uses the same trials.
    const trials = await lineSearchTrials(finished, models);
    let rows: { forward: number; gradient: number }, basis: string;
    switch (params.method) {
      case "igos++":
        rows = igosRows(params.iterations, params.steps, 4, trials.value);
        basis = `iGOS++ ${params.iterations} iterations x (4 terms x ${params.steps} steps) ` +
          `gradient rows + (1 + trials) x 4 x ${params.steps} forward rows per iteration, ` +
          trials.basis;
        break;
      case "rise":
        rows = { forward: params.riseMasks, gradient: 0 };
        basis = `RISE: ${params.riseMasks} masks/image`;
        break;
      case "occlusion": {
        const { window, stride } = occlusionDefaults;
        const k = Math.floor((params.maskSize - window) / stride) + 1 +
          ((params.maskSize - window) % stride ? 1 : 0);
        rows = { forward: k * k + 1, gradient: 0 };
        basis = `occlusion: ${k}² windows (${window} cells, stride ${stride}) + 1 rows/image`;
        break;
      }
      default:
        rows = { forward: 0, gradient: 1 };
        basis = "plain gradient: 1 gradient row/image";
    }
    return {
      units: models.length * chunks(n, config.dataset.chunk),
      images: n,
      forward: perModel(models, rows.forward * n),
      gradient: perModel(models, rows.gradient * n),
      // iGOS++ evaluates on the gradient graph; RISE and occlusion use the Scorer.
      gradientForward: perModel(models, params.method === "igos++" ? rows.forward * n : 0),
      basis,
      measured: trials.measured ? { lineSearchTrials: trials.measured } : undefined,
    };
  },
  async run(unit, io, { config, params }) {
    const m = await modelOf(config, unit.id);
    const { count, overlays } = unit.params as { count: number; overlays: number };
    const chunk = await readChunk(io, unit.inputs[0], true);
    const preds = await readPredictions(io, unit.inputs[1]);
    const n = Math.min(count, chunk.items.length);
    const size = chunk.shape[0] * chunk.shape[1] * chunk.shape[2];
    const slice = (a: Float32Array, k: number) => a.subarray(k * size, (k + 1) * size);
    const cls = chunk.items.slice(0, n).map((it) => preds.get(it.pos)!.pred);
    const t0 = performance.now();
    let heatmaps: Float32Array[];
    let gradientEvals = 0, forwardEvals = 0;
    if (params.method === "igos++" || params.method === "gradient") {
      const grad = await openGradientModel(m, config);
      try {
        if (params.method === "igos++") {
          const r = await igosBatch(
            cls.map((c, k) => ({
              image: slice(chunk.images, k),
              baseline: slice(chunk.baselines, k),
              cls: c,
              id: chunk.items[k].id,
            })),
            grad,
            {
              iterations: params.iterations,
              steps: params.steps,
              l1: params.l1,
              l2: params.l2,
              noise: params.noise,
              maskSize: params.maskSize,
              seed: params.seed,
              // Whole paths of many images per model call; the gradient model splits them.
              maxRowsPerCall: Math.max(params.steps, 4 * grad.maxBatch),
            },
          );
          heatmaps = r.heatmaps;
          gradientEvals = r.counters.gradientEvaluations;
          forwardEvals = r.counters.forwardEvaluations;
        } else {
          heatmaps = await gradientSaliency(
            cls.map((c, k) => ({ image: slice(chunk.images, k), cls: c })),
            grad,
            { maskSize: params.maskSize },
          );
          gradientEvals = n;
        }
      } finally {
        await grad.close();
      }
    } else {
      const scorer = await openScorer(m, chunk, config, "bilinear");
      try {
        const reqs = cls.map((c, k) => ({ image: k, cls: c }));
        heatmaps = params.method === "rise"
          ? await rise(reqs, scorer.scorer, {
            maskSize: params.maskSize,
            masks: params.riseMasks,
            seed: params.seed,
          })
          : await occlusion(reqs, scorer.scorer, { maskSize: params.maskSize });
        forwardEvals = scorer.stats().masks;
      } finally {
        await scorer.close();
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    io.count("modelEvals", forwardEvals);
    io.count("gradientEvals", gradientEvals);
    io.timings("heatmaps", { seconds, secondsPerImage: n ? seconds / n : 0 });
    const s = params.maskSize;
    const flat = new Float32Array(n * s * s);
    heatmaps.forEach((h, k) => flat.set(h, k * s * s));
    await io.write("heatmaps.npy", encodeNpy(flat, [n, s, s]));
    await io.writeJson("meta.json", {
      model: m.id,
      method: params.method,
      maskSize: s,
      items: chunk.items.slice(0, n).map((it, k) => ({
        pos: it.pos,
        id: it.id,
        label: it.label,
        cls: cls[k],
      })),
      gradientEvals,
      forwardEvals,
    });
    for (let k = 0; k < Math.min(overlays, n); k++) {
      const [c, h, w] = chunk.shape;
      await io.write(
        `overlays/${chunk.items[k].id.replace(/[^A-Za-z0-9_.-]/g, "_")}.png`,
        await overlayPng(slice(chunk.rgb01, k), c, h, w, heatmaps[k], s),
      );
    }
  },
  /**
   * Fig. 7: every model's heatmap of the figures' image, as cross-testing uses it; and, for the
   * explorer, every model's heatmaps of its images with the order insertion reveals their cells.
   */
  async summarise(io, ctx) {
    const explored = await explorerHeatmaps(io, ctx);
    const explorer = explored ? { heatmaps: explored } : {};
    const { models, units, sample } = ctx;
    if (!sample) return { explorer };
    const heatmaps = [];
    for (const id of models) {
      const ref = units("igos-heatmaps").find((r) => r.unit === `${id}/c0000`);
      if (!ref) continue;
      const meta = await io.readInputJson<{ maskSize: number; items: { id: string }[] }>(
        ref,
        "meta.json",
      );
      const k = meta.items.findIndex((im) => im.id === sample.id);
      if (k < 0) continue;
      const s = meta.maskSize;
      const hm = decodeNpy(await io.readInput(ref, "heatmaps.npy")).data as Float32Array;
      heatmaps.push({
        model: id,
        size: s,
        values: Array.from(
          hm.subarray(k * s * s, (k + 1) * s * s),
          (v) => Math.round(v * 1e4) / 1e4,
        ),
      });
    }
    if (!heatmaps.length) return { explorer };
    const cross_test = {
      image_id: sample.id,
      class_label: sample.classLabel,
      image: sample.image,
      heatmaps,
    };
    return { figures: { cross_test }, explorer };
  },
};

/** Each model's heatmaps of the explorer's images: saliency as bytes, cell order as uint16. */
async function explorerHeatmaps(io: UnitIO, { models, units, explorer }: ReportContext) {
  if (!explorer) return undefined;
  const wanted = new Set(explorer.images);
  const entries: Record<string, Record<string, ExplorerHeatmap>> = {};
  let size = 0, method = "";
  for (const id of models) {
    for (const ref of units("igos-heatmaps").filter((r) => r.unit.startsWith(`${id}/`))) {
      const meta = await io.readInputJson<
        { maskSize: number; method: string; items: { id: string }[] }
      >(ref, "meta.json");
      if (!meta.items.some((im) => wanted.has(im.id))) continue;
      const s2 = meta.maskSize * meta.maskSize;
      const hm = decodeNpy(await io.readInput(ref, "heatmaps.npy")).data as Float32Array;
      meta.items.forEach((im, k) => {
        if (!wanted.has(im.id)) return;
        const values = hm.subarray(k * s2, (k + 1) * s2);
        (entries[id] ??= {})[im.id] = {
          values: encodeU8(saliencyBytes(values)),
          order: encodeU16(cellOrder(values)),
        };
      });
      size = meta.maskSize;
      method = meta.method;
      // The explorer's images are the dataset's first: later chunks have none of them.
      if (Object.keys(entries[id] ?? {}).length === wanted.size) break;
    }
  }
  return size ? { size, method, entries } : undefined;
}
