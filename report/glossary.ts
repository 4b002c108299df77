/**
 * The report's methods summary and glossary: what each stage computed, with the parameters this
 * run used, and what every term in the tables and figures means. docs/METHODS.md is the full
 * specification; the summary cites its sections.
 */
import { heatmapMethod } from "./heatmap_method.ts";
import { aOrAn } from "./article.ts";
import type { ReportInput } from "./input.ts";

/** A parameter as the run resolved it; "?" when the input does not say. */
function param(input: ReportInput, stage: string, key: string): string {
  const v = input.provenance?.stage_params?.[stage]?.[key];
  if (v === undefined) return "?";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** "the first 10 images" or "every image" for a stage's `images` parameter. */
function images(input: ReportInput, stage: string): string {
  const n = param(input, stage, "images");
  return n === "0" ? "every image" : n === "?" ? "its images" : `the first ${n} images`;
}

/** One paragraph per stage, in DAG order, each citing the section of docs/METHODS.md. */
export function methodsSummary(input: ReportInput): string[] {
  const p = (stage: string, key: string) => param(input, stage, key);
  const heatmap = heatmapMethod((key) => p("igos-heatmaps", key));
  return [
    "preprocess: each image is resized and cropped as each model's card says, normalised, and " +
    "paired with its baseline B, a Gaussian blur of the crop (docs/METHODS.md, Notation).",
    "infer-baselines: every model's prediction ĉ and confidence p_full on every image and on " +
    "its blurred copy; accuracy, the normalisation constants t and b, ensembles and the " +
    "channel activations of Fig. 5 (docs/METHODS.md §5, §6).",
    `mse-search: on ${images(input, "mse-search")}, a beam search (width ` +
    `${p("mse-search", "beamWidth")}) over a ${p("mse-search", "grid")}x` +
    `${p("mse-search", "grid")} patch grid finds the minimal sufficient explanations: patch sets ` +
    `whose reveal keeps r above Ph = ${p("mse-search", "ph")}, made minimal; the search stops ` +
    `once more than ${p("mse-search", "maxMses")} are found (its last level can add more) ` +
    `(docs/METHODS.md §1).`,
    `subtree-count: under each MSE, a tree whose children remove one patch ` +
    `(${p("subtree-count", "children")}), expanded while r ≥ ` +
    `${p("subtree-count", "expandThreshold")}; nodes are counted at each threshold, as tree ` +
    `counts and as unique counts (docs/METHODS.md §2).`,
    `igos-heatmaps: ${aOrAn(p("igos-heatmaps", "maskSize"))} ${p("igos-heatmaps", "maskSize")}x${
      p("igos-heatmaps", "maskSize")
    } ` +
    `${heatmap.name} heatmap per model and image on ${images(input, "igos-heatmaps")} ` +
    `(${heatmap.params ? `${heatmap.params}; ` : ""}docs/METHODS.md §3).`,
    `cross-test: every model's heatmaps revealed to every model, ` +
    `${p("cross-test", "cellsPerStep")} cells a step, insertion and deletion curves and their ` +
    `areas (docs/METHODS.md §4, §5).`,
    `kpca: the cross-testing matrix S normalised per evaluated model (b = ` +
    `${p("kpca", "baselineConfidence")}), its group means (Fig. 8) and its kernel PCA ` +
    `landscape (Fig. 6) (docs/METHODS.md §5).`,
    `report: Table 1 with 95% percentile bootstrap intervals over images ` +
    `(${p("report", "bootstrap")} resamples, seed ${p("report", "seed")}) and the paper's ` +
    `findings tested on this run's models (docs/METHODS.md §6, §7).`,
  ];
}

/** The terms, in the order a reader meets them. */
export const GLOSSARY: readonly [string, string][] = [
  ["ĉ, p_full", "the class a model predicts on the whole image, and its probability"],
  [
    "baseline B",
    "what a hidden patch or cell shows the model: the image blurred (or zeros, by config)",
  ],
  [
    "r (likelihood ratio)",
    "p_ĉ of the image with only some patches revealed (B elsewhere) divided by p_full; " +
    "r near 1 means the revealed patches suffice",
  ],
  ["Ph", "the sufficiency threshold: a patch set is sufficient when r > Ph (0.9 in the paper)"],
  [
    "MSE",
    "minimal sufficient explanation: a patch set with r > Ph none of whose one-patch-smaller " +
    "subsets stays above Ph; MSE count and MSE size (patches) are per-image means",
  ],
  [
    "sub-explanation",
    "a node of the tree under an MSE: the MSE with patches removed one at a time, counted " +
    "when its r is at least the column's threshold (0.8, 0.7, 0.6, 0.5)",
  ],
  [
    "tree vs unique count",
    "tree counts every node of every tree, so a subset reached along two deletion orders or " +
    "under two MSEs counts twice (the paper's numbers); unique counts distinct subsets per image",
  ],
  [
    "heatmap",
    "a saliency map over a grid of cells, by the method the igos-heatmaps line above names " +
    "(iGOS++ unless the config chooses RISE, occlusion or plain gradients): high = the cells " +
    "the method finds most salient for the class (for iGOS++, the evidence whose insertion " +
    "raises and whose deletion lowers the class probability most)",
  ],
  [
    "insertion, deletion, AUC",
    "reveal the heatmap's cells most salient first over B (insertion), or hide them from the " +
    "image (deletion), reading the class probability at each step; AUC is the area under " +
    "that curve over the fraction revealed or hidden",
  ],
  [
    "t, b, normalised score",
    "t: mean top-1 confidence on the images; b: on the blurred images (or the mean confidence " +
    "in ĉ there); a score s is normalised as (s − b) / (t − b), so 0 ≈ the baseline, 1 ≈ the " +
    "full image",
  ],
  [
    "cross-testing matrix S",
    "S[A][B]: mean normalised insertion AUC of model A's heatmaps evaluated by model B; not " +
    "symmetric",
  ],
  [
    "landscape",
    "kernel PCA of (S + Sᵀ)/2 in two dimensions: models that accept each other's evidence " +
    "sit close together",
  ],
  [
    "group, family",
    "a model's display group (from the config or its card); figures colour and order models " +
    "by it",
  ],
  [
    "95% interval",
    "percentile bootstrap over images: the range of the statistic over resampled image sets; " +
    "it shows the sampling uncertainty of the images used, not of training seeds",
  ],
  [
    "verdict",
    "a finding of the paper tested on this run: a statistic declared before the data (for " +
    "counts, the ratio of geometric means of 1 + count) with its interval, and one of four " +
    "outcomes: replicates, opposite, no effect or inconclusive (docs/METHODS.md §7)",
  ],
];
