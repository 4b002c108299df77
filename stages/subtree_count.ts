/**
 * subtree-count (METHODS §2): sub-explanation trees under each MSE, counted as `tree` (the
 * paper's) and `unique`, reusing every subset mse-search already scored through its stored memo.
 */
import type { Config } from "../configs/schema.ts";
import { arr, bool, int, num, obj, oneOf, optional } from "../lib/schema.ts";
import type { Stage, UnitIO, UnitRef } from "../pipeline/stage.ts";
import { decodeNpy } from "../runtime/npy.ts";
import { runSubtreeCount, table1Row, thresholdKey } from "../explain/mse_run.ts";
import { Memo, type RatioRule } from "../explain/memo.ts";
import type { SubtreeResult } from "../explain/subtree.ts";
import { deepenSamples, type SampleNode } from "../explain/tree_sample.ts";
import type {
  Counting,
  ExplorerMse,
  ExplorerTreeNode,
  MseFigure,
  Table1Row,
} from "../report/input.ts";
import { calibrationSection } from "./support/calibration.ts";
import { modelOf, models, preprocessRef } from "./support/common.ts";
import { stagePool } from "./support/scorer_pool.ts";
import { readChunk } from "./support/tensors.ts";
import {
  ofPlannedModels,
  perImage,
  perModel,
  sameSearch,
  type Sample,
  type SearchSettings,
} from "./support/cost.ts";
import type { ReportContext, ReportPart } from "./support/report_part.ts";

const params = obj({
  children: optional(oneOf("first3", "all"), "first3"),
  expandThreshold: optional(num({ min: 0, max: 1 }), 0.5),
  countThresholds: optional(arr(num({ min: 0, max: 1 }), { min: 1 }), [0.8, 0.7, 0.6, 0.5]),
  countRoots: optional(bool(), true),
  /** Trees per image kept for the Fig. 4 analog. */
  sampleTrees: optional(int({ min: 0 }), 2),
  /** Levels below each kept tree's root drawn by the report's explorer (1 = its children). */
  sampleDepth: optional(int({ min: 1 }), 2),
});

export type SubtreeParams = ReturnType<typeof params.parse>;

interface StoredMse {
  options: { grid: number; ratio?: RatioRule };
  memoOffsets: number[];
  images: { pos: number; id: string; cls: number; pFull: number; mses: { patches: number[] }[] }[];
}

/** Two chunks of a model in flight share one Scorer (see stages/scorer_pool.ts). */
const scorers = stagePool();

/**
 * Tree rows per image and model not already in the beam's memo, when nothing is measured: most tree
 * nodes are subsets the beam search already scored. Measured: 300 on the zoo's 500-image
 * replication (2,404,590 rows over 16 models x 500 images), 192 on the ImageNet sample (57,572 over
 * 300); the 2,000 assumed before made `plan` put the replication at 1.9 h against 33 minutes run.
 */
const assumedRowsPerImage = 300;

export const subtreeCount: Stage<SubtreeParams, Config, ReportContext, ReportPart> = {
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
  /** One unit per mse-search unit, over its images; measured units count what the memo lacked. */
  async estimate({ models, upstream, stageParams, finished }) {
    const mse = upstream["mse-search"];
    const search = stageParams["mse-search"] as SearchSettings;
    // A unit covers the images, and ran with the settings, of the mse-search output it read.
    const searches = new Map((await finished("mse-search")).map((u) => [u.outputHash, u]));
    const all = (await finished("subtree-count")).map((u): Sample => {
      const src = Object.values(u.inputs).map((h) => searches.get(h)).find((m) => m !== undefined);
      const p = src?.params as { count?: number; search?: Record<string, unknown> } | undefined;
      return {
        model: u.unit.split("/")[0],
        images: p?.count ?? 0,
        counters: u.counters,
        params: p?.search ?? {},
      };
    }).filter((s) => s.images > 0 && sameSearch(s.params, search));
    const { samples: same, borrowed } = ofPlannedModels(all, models);
    const measured = same.length
      ? { subtreeEvalsPerImage: perImage(same, "modelEvals", borrowed) }
      : undefined;
    const rows = measured?.subtreeEvalsPerImage.value ?? assumedRowsPerImage;
    return {
      units: mse.units,
      images: mse.images,
      forward: perModel(models, rows * mse.images),
      gradient: perModel(models, 0),
      basis: `${rows.toFixed(0)} rows/image not already in the beam's memo (${
        measured?.subtreeEvalsPerImage.source ?? "assumed"
      })`,
      measured,
    };
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
      const trees = await Promise.all(results.map((r, k) =>
        deepenSamples(
          memos[k],
          r.samples,
          params.sampleDepth,
          params.children,
          params.expandThreshold,
        )
      ));
      io.count("modelEvals", results.reduce((a, r) => a + r.subtree.evaluations, 0));
      io.count("memoHits", results.reduce((a, r) => a + r.subtree.hits, 0));
      // Of the model's shared Scorer so far, all units in flight together: timing, not a result.
      io.timings("sharedScorer", scorer.stats());
      await io.writeJson("subtree.json", {
        model: m.id,
        thresholds: params.countThresholds,
        options: {
          children: params.children,
          expandThreshold: params.expandThreshold,
          countRoots: params.countRoots,
        },
        images: results.map((r, k) => ({
          pos: stored.images[k].pos,
          id: stored.images[k].id,
          ...r.subtree,
          samples: r.samples,
          /** The same trees `sampleDepth` levels deep, for the report's explorer. */
          trees: trees[k],
        })),
      });
    } finally {
      await scorer.release();
    }
  },
  /**
   * Table 1 with what it counts, the baseline regime behind the images it leaves out (mse-search's
   * rule and infer-baselines' r(∅); summarised here, beside Table 1, so that mse-search's own
   * units keep their keys), and Fig. 4: each model's MSEs with their sub-explanations; and, for the
   * explorer, every model's MSEs and sampled trees on each of its images.
   */
  async summarise(io, ctx) {
    const table1 = await table1Rows(io, ctx);
    const counting = await countingOf(io, ctx);
    const calibration = await calibrationSection(
      io,
      ctx.models,
      ctx.units,
      ctx.config.baseline,
    );
    const mse = await fig4(io, ctx);
    const explored = await explorerMse(io, ctx);
    return {
      table1,
      counting,
      calibration,
      figures: mse ? { mse } : {},
      explorer: explored ? { mse: explored } : {},
    };
  },
};

/** One Table 1 row per model over all its chunks, with bootstrap intervals over images. */
async function table1Rows(io: UnitIO, { models, units, bootstrap }: ReportContext) {
  const table1: Table1Row[] = [];
  const modelOfUnit = (r: UnitRef) => r.unit.split("/")[0];
  for (const id of models) {
    const perImage: {
      id: string;
      count: number;
      meanSize: number;
      subtree: SubtreeResult;
      baselineSuffices: boolean;
    }[] = [];
    for (const r of units("mse-search").filter((r) => modelOfUnit(r) === id)) {
      const mse = await io.readInputJson<
        { images: { id: string; count: number; meanSize: number; baselineSuffices?: boolean }[] }
      >(r, "mse.json");
      const sub = await io.readInputJson<{ images: (SubtreeResult & { id: string })[] }>(
        { stage: "subtree-count", unit: r.unit },
        "subtree.json",
      ).catch(() => null);
      if (!sub) continue;
      mse.images.forEach((im, k) =>
        perImage.push({
          id: im.id,
          count: im.count,
          meanSize: im.meanSize,
          subtree: sub.images[k],
          baselineSuffices: im.baselineSuffices ?? false,
        })
      );
    }
    if (perImage.length === 0) continue;
    const row = table1Row(perImage, { samples: bootstrap.samples, seed: bootstrap.seed });
    const th = perImage[0].subtree.thresholds;
    // Per-image values behind the means: images where the baseline suffices are not among them.
    const explained = perImage.filter((x) => !x.baselineSuffices);
    const key = (t: number) => String(t) as "0.8";
    table1.push({
      model: id,
      images: row.images,
      baseline_suffices: row.baselineSuffices,
      mse_count: row.mse_count,
      mse_size: row.mse_size,
      tree: Object.fromEntries(th.map((t) => [key(t), row.tree[thresholdKey(t)]])),
      unique: Object.fromEntries(th.map((t) => [key(t), row.unique[thresholdKey(t)]])),
      proper: {
        tree: Object.fromEntries(th.map((t) => [key(t), row.proper.tree[thresholdKey(t)]])),
        unique: Object.fromEntries(th.map((t) => [key(t), row.proper.unique[thresholdKey(t)]])),
      },
      per_image: {
        image_ids: explained.map((x) => x.id),
        mse_count: explained.map((x) => x.count),
        mse_size: explained.map((x) => (x.count > 0 ? x.meanSize : null)),
        tree: Object.fromEntries(
          th.map((t, j) => [key(t), explained.map((x) => x.subtree.tree[j])]),
        ),
        unique: Object.fromEntries(
          th.map((t, j) => [key(t), explained.map((x) => x.subtree.unique[j])]),
        ),
        proper: {
          tree: Object.fromEntries(
            th.map((t, j) => [key(t), explained.map((x) => x.subtree.proper.tree[j])]),
          ),
          unique: Object.fromEntries(
            th.map((t, j) => [key(t), explained.map((x) => x.subtree.proper.unique[j])]),
          ),
        },
      },
    });
  }
  return table1;
}

/** Ratios as the explorer shows them: 4 decimals are plenty beside a threshold of 0.5. */
const r4 = (r: number) => Math.round(r * 1e4) / 1e4;

function explorerNode(n: SampleNode): ExplorerTreeNode {
  return {
    patches: n.patches,
    r: r4(n.ratio),
    ...(n.removed === undefined ? {} : { removed: n.removed }),
    ...(n.children.length ? { children: n.children.map(explorerNode) } : {}),
  };
}

/** Every model's MSEs and sampled trees on the explorer's images. */
async function explorerMse(io: UnitIO, { models, units, explorer }: ReportContext) {
  if (!explorer) return undefined;
  const wanted = new Set(explorer.images);
  const entries: Record<string, Record<string, ExplorerMse>> = {};
  let grid = 0, ph: number | undefined;
  for (const id of models) {
    for (const ref of units("mse-search").filter((r) => r.unit.startsWith(`${id}/`))) {
      const mse = await io.readInputJson<{
        options: { grid: number; ph?: number };
        images: {
          id: string;
          baselineSuffices?: boolean;
          mses: { patches: number[]; ratio: number }[];
        }[];
      }>(ref, "mse.json");
      if (!mse.images.some((im) => wanted.has(im.id))) continue;
      grid = mse.options.grid;
      ph = mse.options.ph;
      const sub = units("subtree-count").some((r) => r.unit === ref.unit)
        ? await io.readInputJson<{ images: { id: string; trees?: SampleNode[] }[] }>(
          { stage: "subtree-count", unit: ref.unit },
          "subtree.json",
        )
        : undefined;
      for (const im of mse.images.filter((x) => wanted.has(x.id))) {
        const trees = sub?.images.find((x) => x.id === im.id)?.trees ?? [];
        (entries[id] ??= {})[im.id] = {
          mses: im.mses.map((m) => ({ patches: m.patches, r: r4(m.ratio) })),
          ...(im.baselineSuffices ? { baselineSuffices: true } : {}),
          trees: trees.map(explorerNode),
        };
      }
      // The explorer's images are the dataset's first: later chunks have none of them.
      if (Object.keys(entries[id] ?? {}).length === wanted.size) break;
    }
  }
  return grid ? { grid, ph, entries } : undefined;
}

/** What Table 1 counts, from the first model's stored search and count options. */
async function countingOf(io: UnitIO, { units }: ReportContext): Promise<Counting | undefined> {
  const ref = units("subtree-count")[0];
  if (!ref) return undefined;
  const mseRef = { stage: "mse-search", unit: ref.unit };
  const mse = await io.readInputJson<
    { options: { beamWidth: number; beam?: string; ph: number; grid: number; ratio?: string } }
  >(mseRef, "mse.json");
  const sub = await io.readInputJson<
    { options?: { children: string; expandThreshold: number; countRoots: boolean } }
  >(ref, "subtree.json");
  if (!sub.options) return undefined;
  return {
    beam_width: mse.options.beamWidth,
    ...(mse.options.beam === "reference" ? { beam: "reference" } : {}),
    ph: mse.options.ph,
    grid: mse.options.grid,
    ratio: mse.options.ratio ?? "paper",
    roots_counted: sub.options.countRoots,
    children: sub.options.children,
    expand_threshold: sub.options.expandThreshold,
  };
}

/** Fig. 4: MSEs and sub-explanations of the first model with MSEs on the figures' image. */
async function fig4(
  io: UnitIO,
  { models, units, sample }: ReportContext,
): Promise<MseFigure | undefined> {
  if (!sample) return undefined;
  for (const id of models) {
    const ref = units("mse-search").find((r) => r.unit === `${id}/c0000`);
    if (!ref) continue;
    const mse = await io.readInputJson<
      {
        options: { grid: number };
        images: { id: string; mses: { patches: number[]; ratio: number }[] }[];
      }
    >(ref, "mse.json");
    const im = mse.images.find((x) => x.id === sample.id);
    if (!im || im.mses.length === 0) continue;
    const subRef = units("subtree-count").find((r) => r.unit === ref.unit);
    let subs: NonNullable<MseFigure["sub_explanations"]> = [];
    if (subRef) {
      const sub = await io.readInputJson<
        {
          images: {
            id: string;
            samples: {
              root: { patches: number[] };
              children: { patches: number[]; ratio: number; removed: number }[];
            }[];
          }[];
        }
      >(subRef, "subtree.json");
      const s = sub.images.find((x) => x.id === sample.id);
      // The samples' roots are the image's first MSEs, in order.
      subs = (s?.samples ?? []).flatMap((t, parent) =>
        t.children.map((ch) => ({ patches: ch.patches, r: ch.ratio, parent, removed: ch.removed }))
      ).slice(0, 6);
    }
    return {
      image_id: sample.id,
      model: id,
      class_label: sample.classLabel,
      image: sample.image,
      grid: mse.options.grid,
      mses: im.mses.map((x) => ({ patches: x.patches, r: x.ratio })),
      sub_explanations: subs,
    };
  }
  return undefined;
}
