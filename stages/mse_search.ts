/**
 * mse-search (METHODS §1): minimal sufficient explanations by beam search, per (model, chunk of
 * images), all images of a chunk searched concurrently so the Scorer's batches stay full; two
 * chunks of a model are in flight at once on one shared Scorer, so one chunk's last few searches
 * share batches with the next chunk's. Stores the memo of every evaluated subset for
 * subtree-count.
 */
import type { Config } from "../configs/schema.ts";
import { int, num, obj, oneOf, optional } from "../lib/schema.ts";
import type { Stage } from "../pipeline/stage.ts";
import { encodeNpy } from "../runtime/npy.ts";
import { float32Json } from "../lib/float32_json.ts";
import { runMseSearch } from "../explain/mse_run.ts";
import type { MseOptions } from "../explain/beam_search.ts";
import { igos7 } from "../explain/igos.ts";
import { modelOf, perModelChunk, unitKeyParams } from "./support/common.ts";
import type { ModelSpec } from "../runtime/registry.ts";
import { stagePool } from "./support/scorer_pool.ts";
import { chunkImages } from "./support/open_scorer.ts";
import { openGradientModel } from "./support/open_gradient.ts";
import { readChunk } from "./support/tensors.ts";
import { readPredictions } from "./support/predictions_io.ts";
import {
  chunks,
  chunkSamples,
  igosRows,
  limit,
  lineSearchTrials,
  ofPlannedModels,
  perImage,
  perModel,
  sameSearch,
} from "./support/cost.ts";

const params = obj({
  /** Images explained (the first N of the dataset); 0 = all. */
  images: optional(int({ min: 0 }), 0),
  grid: optional(int({ min: 2, max: 7 }), 7),
  beamWidth: optional(int({ min: 1 }), 5),
  /**
   * `distinct`: keep the best beamWidth distinct states (ours); `reference`: the reference's
   * beamWidth + 1 states with repeats (SAG's code, the paper's exact behaviour; METHODS §1).
   */
  beam: optional(oneOf("distinct", "reference"), "distinct"),
  ph: optional(num({ min: 0, max: 1 }), 0.9),
  /**
   * What r is: `paper` r = p(S)/p(I) (the paper's), or `gain` r_g = (p(S) − p(∅)) / (p(I) − p(∅)),
   * so an MSE must recover Ph of the confidence the baseline lacks (explain/memo.ts). Under both,
   * an image whose paper r(∅) > Ph is recorded as "baseline suffices" with no MSEs.
   */
  ratio: optional(oneOf("paper", "gain"), "paper"),
  candidates: optional(oneOf("all", "igos-topq"), "igos-topq"),
  q: optional(int({ min: 1 }), 15),
  maxMses: optional(int({ min: 1 }), 10),
  /** I-GOS at grid x grid for the igos-topq pool. */
  igosIterations: optional(int({ min: 1 }), 2),
  igosSteps: optional(int({ min: 1 }), 20),
  igosL1: optional(num({ min: 0 }), 1),
  igosTv: optional(num({ min: 0 }), 20),
  seed: optional(int({ min: 0 }), 0),
});

export type MseSearchParams = ReturnType<typeof params.parse>;

/** Two chunks of a model in flight share one Scorer (see stages/scorer_pool.ts). */
const scorers = stagePool();

/**
 * Beam-search rows per image and model when nothing is measured: 5 beam states x 15 candidates
 * per level over ~8 levels, plus minimisation.
 */
const assumedRowsPerImage = 800;

export const mseSearch: Stage<MseSearchParams, Config> = {
  name: "mse-search",
  after: ["preprocess", "infer-baselines"],
  module: import.meta.url,
  params,
  streams: 2,
  open: () => scorers.open(),
  close: () => scorers.close(),
  plan: ({ config, params }) =>
    perModelChunk(config, params.images, () => ({
      search: unitKeyParams(params),
      upsample: config.upsample,
    })),
  async estimate({ config, params, models, images, finished }) {
    const n = limit(params.images, images);
    const { samples: same, borrowed } = ofPlannedModels(
      chunkSamples(await finished("mse-search"), "search")
        .filter((s) => s.images > 0 && sameSearch(s.params, params)),
      models,
    );
    const measured = same.length
      ? {
        mseEvalsPerImage: perImage(same, "modelEvals", borrowed),
        mseGradientsPerImage: perImage(same, "gradientEvals", borrowed),
      }
      : undefined;
    // I-GOS 7x7's rows all run on the gradient graph; the measured counters do not split them
    // from the beam's, so that share is computed.
    const trials = params.candidates === "igos-topq"
      ? await lineSearchTrials(finished, models)
      : null;
    const igos = trials ? igosRows(params.igosIterations, params.igosSteps, 1, trials.value) : null;
    let forward: number, gradient = 0, basis: string;
    if (measured) {
      forward = measured.mseEvalsPerImage.value;
      gradient = measured.mseGradientsPerImage.value;
      basis = `${forward.toFixed(0)} forward + ${
        gradient.toFixed(0)
      } gradient rows/image (${measured.mseEvalsPerImage.source})`;
    } else {
      forward = assumedRowsPerImage;
      basis = `${forward} beam-search rows/image (assumed)`;
      if (igos && trials) {
        forward += igos.forward;
        gradient = igos.gradient;
        basis +=
          ` + I-GOS 7x7 ${igos.forward} forward, ${igos.gradient} gradient rows/image (${params.igosIterations} iterations x ${params.igosSteps} steps, ${trials.basis})`;
      }
    }
    const onGraph = Math.min(forward, igos?.forward ?? 0);
    return {
      units: models.length * chunks(n, config.dataset.chunk),
      images: n,
      forward: perModel(models, forward * n),
      gradient: perModel(models, gradient * n),
      gradientForward: perModel(models, onGraph * n),
      basis,
      measured,
    };
  },
  async run(unit, io, { config, params }) {
    const m = await modelOf(config, unit.id);
    const count = (unit.params as { count: number }).count;
    const chunk = await readChunk(io, unit.inputs[0]);
    const preds = await readPredictions(io, unit.inputs[1]);
    const n = Math.min(count, chunk.items.length);
    const images = chunk.items.slice(0, n).map((it, k) => {
      const p = preds.get(it.pos)!;
      return { image: k, cls: p.pred, pFull: p.pFull };
    });
    const notes: string[] = [];
    let igosMasks: Float32Array[] | undefined;
    if (params.candidates === "igos-topq") {
      try {
        igosMasks = await igosMasksFor(m, config, chunk, images, params, io);
      } catch (e) {
        notes.push(
          `igos-topq: no gradients for ${m.id} (${
            (e as Error).message
          }); the candidate pool falls back to all`,
        );
      }
    }
    const options: MseOptions = {
      grid: params.grid,
      beamWidth: params.beamWidth,
      beam: params.beam,
      ph: params.ph,
      candidates: params.candidates === "all"
        ? { kind: "all" }
        : { kind: "igos-topq", q: params.q },
      maxMses: params.maxMses,
      upsample: config.upsample,
      ratio: params.ratio,
    };
    const scorer = await scorers.lease(m, chunk, config, config.upsample);
    try {
      const { results, memos } = await runMseSearch(
        images.map((im, k) => ({ ...im, image: scorer.images[k], igosMask: igosMasks?.[k] })),
        scorer.scorer,
        options,
      );
      for (const r of results) notes.push(...r.notes);
      io.count("modelEvals", results.reduce((a, r) => a + r.evaluations, 0));
      io.count("memoHits", results.reduce((a, r) => a + r.hits, 0));
      io.count("baselineSuffices", results.filter((r) => r.baselineSuffices).length);
      const keys: number[] = [], ratios: number[] = [], offsets = [0];
      for (const memo of memos) {
        const d = memo.export();
        keys.push(...d.keys);
        ratios.push(...d.ratios);
        offsets.push(keys.length);
      }
      // Of the model's shared Scorer so far, all units in flight together: timing, not a result.
      io.timings("sharedScorer", scorer.stats());
      await io.write("memo_keys.npy", encodeNpy(Float64Array.from(keys), [keys.length]));
      await io.write("memo_ratios.npy", encodeNpy(Float32Array.from(ratios), [ratios.length]));
      await io.writeJson("mse.json", {
        model: m.id,
        options: {
          ...options,
          candidates: options.candidates.kind === "all"
            ? { kind: "all" }
            : { kind: "igos-topq", q: params.q },
        },
        notes: [...new Set(notes)],
        memoOffsets: offsets,
        images: results.map((r, k) => ({
          pos: chunk.items[k].pos,
          id: chunk.items[k].id,
          label: chunk.items[k].label,
          cls: r.cls,
          pFull: r.pFull,
          baselineSuffices: r.baselineSuffices,
          emptyRatio: r.emptyRatio,
          mses: r.mses.map((x) => ({ patches: x.patches, ratio: x.ratio })),
          count: r.count,
          meanSize: r.meanSize,
          levels: r.levels,
          evaluations: r.evaluations,
          hits: r.hits,
          unsharedEvaluations: r.unsharedEvaluations,
          igosMask: igosMasks ? Array.from(igosMasks[k], float32Json) : null,
        })),
      });
      for (const note of new Set(notes)) io.log(note);
    } finally {
      await scorer.release();
    }
  },
};

/** I-GOS at grid x grid for each image: the igos-topq candidate pool (low = salient). */
async function igosMasksFor(
  m: ModelSpec,
  config: Config,
  chunk: Awaited<ReturnType<typeof readChunk>>,
  images: { cls: number }[],
  params: MseSearchParams,
  io: { count(name: string, n: number): void },
): Promise<Float32Array[]> {
  const grad = await openGradientModel(m, config);
  try {
    const views = chunkImages(chunk);
    const r = await igos7(
      images.map((im, k) => ({
        image: views.images[k],
        baseline: views.baselines[k],
        cls: im.cls,
        id: chunk.items[k].id,
      })),
      grad,
      {
        maskSize: params.grid,
        iterations: params.igosIterations,
        steps: params.igosSteps,
        l1: params.igosL1,
        l2: params.igosTv,
        seed: params.seed,
      },
    );
    io.count("gradientEvals", r.counters.gradientEvaluations);
    io.count("modelEvals", r.counters.forwardEvaluations);
    return r.masks;
  } finally {
    await grad.close();
  }
}
