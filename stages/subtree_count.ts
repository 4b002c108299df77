/**
 * subtree-count (METHODS §2): sub-explanation trees under each MSE, counted as `tree` (the
 * paper's) and `unique`, reusing every subset mse-search already scored through its stored memo.
 * Thresholds apply to the ratio mse-search used (its stored `options.ratio`: paper or gain).
 */
import type { Config } from "../configs/schema.ts";
import { arr, bool, int, num, obj, oneOf, optional } from "../lib/schema.ts";
import type { Stage } from "../pipeline/stage.ts";
import { decodeNpy } from "../runtime/npy.ts";
import { runSubtreeCount } from "../explain/mse_run.ts";
import { Memo, type RatioRule } from "../explain/memo.ts";
import { modelOf, models, preprocessRef } from "./support/common.ts";
import { stagePool } from "./support/scorer_pool.ts";
import { readChunk } from "./support/tensors.ts";

const params = obj({
  children: optional(oneOf("first3", "all"), "first3"),
  expandThreshold: optional(num({ min: 0, max: 1 }), 0.5),
  countThresholds: optional(arr(num({ min: 0, max: 1 }), { min: 1 }), [0.8, 0.7, 0.6, 0.5]),
  countRoots: optional(bool(), true),
  /** Trees per image kept for the Fig. 4 analog. */
  sampleTrees: optional(int({ min: 0 }), 2),
});

export type SubtreeParams = ReturnType<typeof params.parse>;

interface StoredMse {
  options: { grid: number; ratio?: RatioRule };
  memoOffsets: number[];
  images: { pos: number; id: string; cls: number; pFull: number; mses: { patches: number[] }[] }[];
}

/** Two chunks of a model in flight share one Scorer (see stages/scorer_pool.ts). */
const scorers = stagePool();

export const subtreeCount: Stage<SubtreeParams, Config> = {
  name: "subtree-count",
  after: ["preprocess", "mse-search"],
  module: import.meta.url,
  params,
  streams: 2,
  open: () => scorers.open(),
  close: () => scorers.close(),
  async plan({ config, params, upstream }) {
    const { models: ms } = await models(config);
    return upstream["mse-search"].map((u) => {
      const [id, chunk] = u.id.split("/");
      const m = ms.find((x) => x.id === id)!;
      const c = Number(chunk.slice(1));
      return {
        id: u.id,
        params: { count: params, upsample: config.upsample, model: m.id },
        inputs: [{ stage: "mse-search", unit: u.id }, preprocessRef(m, c)],
        files: [m.onnx],
        runtime: true,
      };
    });
  },
  async run(unit, io, { config, params }) {
    const m = await modelOf(config, unit.id);
    const mseRef = unit.inputs[0];
    const stored = await io.readInputJson<StoredMse>(mseRef, "mse.json");
    const keys = decodeNpy(await io.readInput(mseRef, "memo_keys.npy")).data as Float64Array;
    const ratios = decodeNpy(await io.readInput(mseRef, "memo_ratios.npy")).data as Float32Array;
    const chunk = await readChunk(io, unit.inputs[1]);
    const scorer = await scorers.lease(m, chunk, config, config.upsample);
    try {
      const memos = stored.images.map((im, k) =>
        Memo.from(
          scorer.scorer,
          {
            image: scorer.images[k],
            cls: im.cls,
            pFull: im.pFull,
            grid: stored.options.grid,
            ratio: stored.options.ratio ?? "paper",
          },
          {
            keys: keys.subarray(stored.memoOffsets[k], stored.memoOffsets[k + 1]),
            ratios: ratios.subarray(stored.memoOffsets[k], stored.memoOffsets[k + 1]),
          },
          `${io.inputPath(mseRef, "memo_keys.npy")} image ${im.id}`,
        )
      );
      const results = await runSubtreeCount(
        stored.images.map((im, k) => ({ image: scorer.images[k], mses: im.mses })),
        memos,
        {
          children: params.children,
          expandThreshold: params.expandThreshold,
          countThresholds: params.countThresholds,
          countRoots: params.countRoots,
        },
        params.sampleTrees,
      );
      io.count("modelEvals", results.reduce((a, r) => a + r.subtree.evaluations, 0));
      io.count("memoHits", results.reduce((a, r) => a + r.subtree.hits, 0));
      await io.writeJson("subtree.json", {
        model: m.id,
        thresholds: params.countThresholds,
        /** Of the model's shared Scorer so far, all units in flight together. */
        sharedScorer: scorer.stats(),
        images: results.map((r, k) => ({
          pos: stored.images[k].pos,
          id: stored.images[k].id,
          ...r.subtree,
          samples: r.samples,
        })),
      });
    } finally {
      await scorer.release();
    }
  },
};
