/**
 * Runs the first methodology over many images of one model: beam searches, then sub-explanation
 * trees, every image concurrently (each awaiting its own memo), so that a coalescing Scorer sees
 * the requests of all images at once and fills its batches. The two stages take separate options
 * and can run apart: mse-search stores the memos, subtree-count reloads them and adds to them.
 */
import type { Scorer } from "./scorer.ts";
import { Memo } from "./memo.ts";
import {
  beamSearch,
  defaults as mseDefaults,
  type Mse,
  type MseOptions,
  validateMseOptions,
} from "./beam_search.ts";
import {
  defaults as subtreeDefaults,
  sampleTrees,
  subtreeCount,
  type SubtreeOptions,
  type SubtreeResult,
  type TreeSample,
  validateSubtreeOptions,
} from "./subtree.ts";
import { bootstrapMeanCI, type BootstrapOptions, type Interval } from "./stats.ts";
import { deriveSeed } from "../lib/rng.ts";
import { fromIndices } from "./patchset.ts";

/** One image to explain under the model the scorer wraps. */
export interface ImageInput {
  /** Image index, as the scorer knows it. */
  image: number;
  /** ĉ, the class predicted on the full image. */
  cls: number;
  /** p_ĉ on the full image. */
  pFull: number;
  /** This image's I-GOS mask at grid x grid, for `igos-topq` candidates. */
  igosMask?: Float32Array;
}

export interface RunOptions {
  mse: MseOptions;
  subtree: SubtreeOptions;
  /** Trees per image kept (root and first children) for a figure. */
  sampleTrees: number;
}

/** The `paper` preset. */
export const defaults: RunOptions = { mse: mseDefaults, subtree: subtreeDefaults, sampleTrees: 2 };

/** Stage mse-search, per image. */
export interface MseImageResult {
  image: number;
  cls: number;
  pFull: number;
  /** The baseline alone reaches Ph: no MSEs, left out of Table 1's means and counted apart. */
  baselineSuffices: boolean;
  /** r(∅), the paper's ratio of the baseline alone. */
  emptyRatio: number;
  mses: Mse[];
  count: number;
  meanSize: number;
  levels: number;
  notes: string[];
  evaluations: number;
  hits: number;
  unsharedEvaluations: number;
}

/** Stage subtree-count, per image. */
export interface SubtreeImageResult {
  image: number;
  subtree: SubtreeResult;
  samples: TreeSample[];
}

/** Both stages, per image. */
export interface ImageResult extends MseImageResult {
  subtree: SubtreeResult;
  samples: TreeSample[];
  /** Subsets sent to the model for this image by both stages. */
  totalEvaluations: number;
  /** What scoring every successor, probe and tree node without sharing would have cost. */
  totalUnshared: number;
}

function checkImages(images: readonly ImageInput[]): void {
  const seen = new Set<number>();
  images.forEach((im, k) => {
    if (seen.has(im.image)) throw new RangeError(`mse_run: images[${k}] repeats image ${im.image}`);
    seen.add(im.image);
  });
}

/** The per-image options: `igos-topq` takes the image's own mask. */
function optionsFor(o: MseOptions, im: ImageInput): MseOptions {
  if (o.candidates.kind !== "igos-topq") return o;
  return { ...o, candidates: { ...o.candidates, mask: im.igosMask ?? o.candidates.mask } };
}

/**
 * Stage mse-search: one memo per image (or the given ones, aligned with `images`), all searches
 * at once. Returns the per-image results and the memos to store.
 */
export async function runMseSearch(
  images: readonly ImageInput[],
  scorer: Scorer,
  options: MseOptions = mseDefaults,
  memos?: Memo[],
): Promise<{ results: MseImageResult[]; memos: Memo[] }> {
  validateMseOptions(options);
  checkImages(images);
  const ms = memos ??
    images.map((im) =>
      new Memo(scorer, {
        image: im.image,
        cls: im.cls,
        pFull: im.pFull,
        grid: options.grid,
        ratio: options.ratio,
      })
    );
  if (ms.length !== images.length) {
    throw new RangeError(`mse_run: ${ms.length} memos for ${images.length} images`);
  }
  const results = await Promise.all(images.map(async (im, k) => {
    const r = await beamSearch(ms[k], optionsFor(options, im));
    return { image: im.image, cls: im.cls, pFull: im.pFull, ...r };
  }));
  return { results, memos: ms };
}

/**
 * Stage subtree-count: trees rooted at each image's MSEs over its memo (reloaded from
 * mse-search, so its evaluations are reused), all images at once. An image where the baseline
 * suffices has no MSEs, so no trees: nothing is scored for it.
 */
export async function runSubtreeCount(
  perImage: readonly { image: number; mses: readonly { patches: readonly number[] }[] }[],
  memos: readonly Memo[],
  options: SubtreeOptions = subtreeDefaults,
  keepSamples = defaults.sampleTrees,
): Promise<SubtreeImageResult[]> {
  validateSubtreeOptions(options);
  if (memos.length !== perImage.length) {
    throw new RangeError(`mse_run: ${memos.length} memos for ${perImage.length} images`);
  }
  return await Promise.all(perImage.map(async (im, k) => {
    if (memos[k].info.image !== im.image) {
      throw new RangeError(
        `mse_run: memo ${k} is for image ${memos[k].info.image}, not image ${im.image}`,
      );
    }
    const roots = im.mses.map((m) => fromIndices(m.patches));
    const subtree = await subtreeCount(memos[k], roots, options);
    const samples = await sampleTrees(memos[k], roots, keepSamples, options.children);
    return { image: im.image, subtree, samples };
  }));
}

/** Both stages over many images, concurrently. */
export async function explainImages(
  images: readonly ImageInput[],
  scorer: Scorer,
  options: RunOptions = defaults,
): Promise<{ results: ImageResult[]; memos: Memo[] }> {
  const { results, memos } = await runMseSearch(images, scorer, options.mse);
  const trees = await runSubtreeCount(results, memos, options.subtree, options.sampleTrees);
  return {
    memos,
    results: results.map((r, k) => ({
      ...r,
      subtree: trees[k].subtree,
      samples: trees[k].samples,
      totalEvaluations: r.evaluations + trees[k].subtree.evaluations,
      totalUnshared: r.unsharedEvaluations + trees[k].subtree.treeNodes,
    })),
  };
}

/** Column name of a count threshold: 0.8 -> "sub_ge80". */
export function thresholdKey(t: number): string {
  return `sub_ge${Math.round(t * 100)}`;
}

/** One model's Table 1 row: dataset means over images with 95% bootstrap intervals. */
export interface Table1Row {
  /** Images in the means: those where the baseline alone did not suffice. */
  images: number;
  /** Images left out because the baseline alone reached Ph (no MSE can be smaller than ∅). */
  baselineSuffices: number;
  mse_count: Interval;
  /** Over images with at least one MSE (an image without MSEs has no size). */
  mse_size: Interval;
  /** Per-image sums over all trees, nodes counted as often as trees reach them (the paper's). */
  tree: Record<string, Interval>;
  /** Per-image distinct subsets. */
  unique: Record<string, Interval>;
  /** Both counts with the trees' roots (the MSEs themselves) left out: proper subsets only. */
  proper: { tree: Record<string, Interval>; unique: Record<string, Interval> };
}

/**
 * The Table 1 row for one model from its per-image results. Images where the baseline suffices
 * are counted, not averaged: their empty MSE would enter as count 1, size 0 and one
 * sub-explanation at every threshold, a statement about the baseline rather than the model.
 */
export function table1Row(
  results: readonly {
    count: number;
    meanSize: number;
    subtree: SubtreeResult;
    baselineSuffices?: boolean;
  }[],
  options: Partial<BootstrapOptions> = {},
): Table1Row {
  const perImage = results.filter((p) => !p.baselineSuffices);
  const seed = options.seed ?? 0;
  const ci = (values: number[], column: string) =>
    bootstrapMeanCI(values, { ...options, seed: deriveSeed(seed, column) });
  const thresholds = results[0]?.subtree.thresholds ?? subtreeDefaults.countThresholds;
  results.forEach((p, k) => {
    if (p.subtree.thresholds.join() !== thresholds.join()) {
      throw new RangeError(`table1Row: image ${k} was counted at other thresholds`);
    }
  });
  const tree: Record<string, Interval> = {}, unique: Record<string, Interval> = {};
  const proper = { tree: {} as Record<string, Interval>, unique: {} as Record<string, Interval> };
  thresholds.forEach((t, j) => {
    const key = thresholdKey(t);
    tree[key] = ci(perImage.map((p) => p.subtree.tree[j]), `tree.${key}`);
    unique[key] = ci(perImage.map((p) => p.subtree.unique[j]), `unique.${key}`);
    proper.tree[key] = ci(perImage.map((p) => p.subtree.proper.tree[j]), `proper.tree.${key}`);
    proper.unique[key] = ci(
      perImage.map((p) => p.subtree.proper.unique[j]),
      `proper.unique.${key}`,
    );
  });
  return {
    images: perImage.length,
    baselineSuffices: results.length - perImage.length,
    mse_count: ci(perImage.map((p) => p.count), "mse_count"),
    mse_size: ci(perImage.filter((p) => p.count > 0).map((p) => p.meanSize), "mse_size"),
    tree,
    unique,
    proper,
  };
}
