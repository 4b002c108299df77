/**
 * What the shared memo saves. The SAG reference scores every successor, every minimisation probe
 * and every node of every sub-explanation tree, however often the same subset recurs; here each
 * distinct subset of an image is scored once. `countEvaluations` measures both on any Scorer (the
 * lead reruns it on real models); run this file for a 7x7 toy additive + interaction model:
 *   deno run -A bench/mse.ts [IMAGES=16]   (JSON on stdout)
 *   deno bench -A bench/mse.ts             (timing of the same run on 4 images)
 */
import type { Scorer } from "../explain/scorer.ts";
import type { Memo } from "../explain/memo.ts";
import { defaults, explainImages, type ImageInput, type RunOptions } from "../explain/mse_run.ts";
import { childrenOf, type SubtreeOptions } from "../explain/subtree.ts";
import { fromIndices, toIndices } from "../explain/patchset.ts";
import { ToyScorer } from "../explain/testing/toy_scorers.ts";
import { Rng } from "../lib/rng.ts";
import { mean, quantile } from "../explain/stats.ts";

/**
 * Nodes the reference scores when it builds the trees one node at a time: a depth-first build
 * of the very same trees, each node counted as one model evaluation. The ratios come from the
 * memo (the values are the same; only the count matters). Stops counting past `cap` nodes.
 */
export function referenceTreeNodes(
  memo: Memo,
  roots: readonly number[],
  o: SubtreeOptions,
  cap = 1e7,
): { nodes: number; capped: boolean } {
  let nodes = 0;
  const stack = [...roots];
  while (stack.length > 0 && nodes < cap) {
    const s = stack.pop()!;
    nodes++;
    const r = memo.get(s);
    if (r === undefined) throw new Error(`bench/mse.ts: subset ${s} of a tree was never scored`);
    if (r >= o.expandThreshold) stack.push(...childrenOf(s, o.children));
  }
  return { nodes, capped: stack.length > 0 };
}

export interface EvaluationCount {
  /** Mean model evaluations per image with the shared memo (beam search + trees). */
  withMemo: number;
  /** Mean per image without sharing: beam successors and probes, plus every tree node. */
  withoutSharing: number;
  /** withoutSharing / withMemo (ratio of the per-image means). */
  ratio: number;
  /** Median and minimum over images of each image's own ratio (the mean is heavy-tailed). */
  medianRatio: number;
  minRatio: number;
  /** Subtree-count alone: mean new evaluations per image (the memo already holds the beam's). */
  treesWithMemo: number;
  /** Subtree-count alone without sharing: every node of every tree, per image. */
  treesWithoutSharing: number;
  /** treesWithoutSharing / treesWithMemo. */
  treeRatio: number;
  images: number;
  /** Mean MSEs per image and mean MSE size, to show the workload is realistic. */
  mseCount: number;
  mseSize: number;
  perImage: {
    image: number;
    withMemo: number;
    /** Of withMemo, those the beam search sent (the rest come from the trees). */
    beamWithMemo: number;
    beamUnshared: number;
    treeNodes: number;
    mses: number;
  }[];
  /** True when a reference tree build hit the node cap (withoutSharing is then a lower bound). */
  capped: boolean;
}

/** Model evaluations per image with the memo and without any sharing, on the same searches. */
export async function countEvaluations(
  scorer: Scorer,
  images: readonly ImageInput[],
  options: RunOptions = defaults,
): Promise<EvaluationCount> {
  const { results, memos } = await explainImages(images, scorer, options);
  let capped = false;
  const perImage = results.map((r, k) => {
    const ref = referenceTreeNodes(memos[k], r.mses.map((m) => fromIndices(m.patches)), {
      ...options.subtree,
      countRoots: true, // the reference scores every root
    });
    capped ||= ref.capped;
    return {
      image: r.image,
      withMemo: memos[k].evaluations,
      beamWithMemo: r.evaluations,
      beamUnshared: r.unsharedEvaluations,
      treeNodes: ref.nodes,
      mses: r.count,
    };
  });
  const withMemo = mean(perImage.map((p) => p.withMemo));
  const withoutSharing = mean(perImage.map((p) => p.beamUnshared + p.treeNodes));
  const treesWithMemo = mean(perImage.map((p) => p.withMemo - p.beamWithMemo));
  const treesWithoutSharing = mean(perImage.map((p) => p.treeNodes));
  const ratios = perImage.map((p) => (p.beamUnshared + p.treeNodes) / p.withMemo)
    .sort((a, b) => a - b);
  return {
    withMemo,
    withoutSharing,
    ratio: withoutSharing / withMemo,
    medianRatio: quantile(ratios, 0.5),
    minRatio: ratios[0] ?? NaN,
    treesWithMemo,
    treesWithoutSharing,
    treeRatio: treesWithoutSharing / treesWithMemo,
    images: images.length,
    mseCount: mean(results.map((r) => r.count)),
    mseSize: mean(results.filter((r) => r.count > 0).map((r) => r.meanSize)),
    perImage,
    capped,
  };
}

/**
 * A 7x7 toy in the spirit of an object classifier: an object of 6-14 patches carries most of the
 * weight, background patches a little, pairs of object patches interact (parts that matter
 * together), and r = sigmoid(a·(g(S)/g(all) − c)) normalised to 1 at the full image.
 */
export function toyImages(n: number, seed = 1): { images: ImageInput[]; scorer: ToyScorer } {
  const rng = new Rng(seed);
  const grid = 7, patches = grid * grid;
  const gs: ((s: number) => number)[] = [];
  const images: ImageInput[] = [];
  for (let k = 0; k < n; k++) {
    const cy = 1 + rng.int(5), cx = 1 + rng.int(5);
    const w = new Float64Array(patches);
    const object: number[] = [];
    for (let i = 0; i < patches; i++) {
      const d = Math.hypot(Math.floor(i / grid) - cy, (i % grid) - cx);
      const inObject = d < 1.2 + rng.next() * 1.3;
      w[i] = inObject ? 3 * rng.next() ** 3 : 0.02 * rng.next();
      if (inObject) object.push(i);
    }
    const pairs: [number, number, number][] = [];
    for (let t = 0; t < object.length; t++) {
      pairs.push([object[rng.int(object.length)], object[rng.int(object.length)], rng.next()]);
    }
    const g = (s: number) => {
      const idx = new Set(toIndices(s));
      let v = 0;
      for (const i of idx) v += w[i];
      for (const [a, b, x] of pairs) if (idx.has(a) && idx.has(b)) v += x;
      return v;
    };
    const full = g(2 ** patches - 1);
    const sig = (z: number) => 1 / (1 + Math.exp(-z));
    const a = 10, c = 0.4, top = sig(a * (1 - c));
    const pFull = 0.5 + 0.45 * rng.next();
    gs.push((s) => pFull * sig(a * (g(s) / full - c)) / top);
    // A stand-in for the 7x7 I-GOS mask (low = salient): 1 minus the noisy normalised weight.
    const wMax = Math.max(...w);
    const igosMask = Float32Array.from(w, (x) => 1 - x / wMax + 0.1 * rng.next());
    images.push({ image: k, cls: k % 1000, pFull, igosMask });
  }
  const scorer = new ToyScorer(grid, (s, image) => gs[image](s));
  return { images, scorer };
}

/** The paper preset (igos-topq candidates from each toy image's stand-in mask). */
export const benchOptions: RunOptions = defaults;

/** The paper preset with `all` candidates, the fallback when no I-GOS mask exists. */
export const benchOptionsAll: RunOptions = {
  ...defaults,
  mse: { ...defaults.mse, candidates: { kind: "all" } },
};

if (import.meta.main) {
  const { images, scorer } = toyImages(Number(Deno.args[0] ?? 16));
  const t0 = performance.now();
  const res = await countEvaluations(scorer, images, benchOptions);
  const { perImage: _, ...summary } = res;
  console.log(JSON.stringify(
    {
      bench: "mse-search + subtree-count model evaluations per image, 7x7 toy",
      options: { ...benchOptions, mse: { ...benchOptions.mse } },
      ...summary,
      scorerMasks: scorer.masks,
      seconds: (performance.now() - t0) / 1000,
    },
    null,
    2,
  ));
}

Deno.bench("mse-search + subtree-count on 4 toy 7x7 images", async () => {
  const { images, scorer } = toyImages(4, 2);
  await countEvaluations(scorer, images, benchOptions);
});
