/**
 * Chooses the figures present in the input and builds their specs, resolving tile images first.
 * Names are fixed, so file names never come from user data. Each caption says what is drawn, over
 * how many images and models, with which parameters, and how to read it.
 */
import type { TopLevelSpec } from "vega-lite";
import { plural } from "./article.ts";
import type { ReportInput } from "./input.ts";
import { modelsOf } from "./models.ts";
import { modelStyles } from "./palette.ts";
import { heatmapMethod } from "./heatmap_method.ts";
import * as specs from "./specs.ts";
import { loadTileImage } from "./tile_image.ts";

export interface FigureDef {
  /** File stem under figures/ and the HTML container id. */
  name: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

export interface FigureOptions {
  spec: specs.SpecOptions;
  /** Images in tiles are downsampled to at most this many pixels a side (one rect per pixel). */
  imageSide: number;
}

export const defaults: FigureOptions = { spec: specs.defaults, imageSide: 32 };

/** A stage parameter as the run resolved it, for a caption; "?" when the input lacks it. */
function param(input: ReportInput, stage: string, key: string): string {
  const v = input.provenance?.stage_params?.[stage]?.[key];
  return v === undefined ? "?" : typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** "10 images" or "8-10 images per model". */
function imagesPerModel(counts: number[]): string {
  const lo = Math.min(...counts), hi = Math.max(...counts);
  return lo === hi ? plural(lo, "image") : `${lo}-${hi} images per model`;
}

export async function buildFigures(
  input: ReportInput,
  options: Partial<FigureOptions> = {},
): Promise<FigureDef[]> {
  const o = { ...defaults, ...options, spec: { ...defaults.spec, ...options.spec } };
  const f = input.figures ?? {};
  const styles = modelStyles(modelsOf(input));
  const p = (stage: string, key: string) => param(input, stage, key);
  const out: FigureDef[] = [];
  const heatmap = heatmapMethod((key) => p("igos-heatmaps", key));
  if (f.insertion) {
    const cells = Number(p("igos-heatmaps", "maskSize")) ** 2;
    out.push({
      name: "fig3-insertion",
      title: "Fig. 3: insertion curves",
      caption: `Each model's own ${heatmap.name} heatmap of image ` +
        `${f.insertion.image_id} revealed over the blurred baseline, most salient cells first ` +
        `(${p("cross-test", "cellsPerStep")} of ${Number.isFinite(cells) ? cells : "?"} cells a ` +
        `step), and the probability the same model gives the class (the image's label where ` +
        `the dataset has one, else the model's own prediction) at each step. ` +
        `${plural(f.insertion.curves.length, "model")}, one image. A curve that rises early ` +
        `means the heatmap found the evidence the model uses; its area is the insertion AUC ` +
        `(the diagonal of the cross-testing matrix). Colour = family, dash = member; the ` +
        `explorer below shows every image.`,
      spec: specs.insertionSpec(f.insertion, o.spec, styles),
    });
  }
  if (f.mse) {
    const img = await loadTileImage(f.mse.image, o.imageSide, "figures.mse.image");
    const g = f.mse.grid;
    out.push({
      name: "fig4-mse",
      title: "Fig. 4: MSEs and sub-explanations",
      caption: `${f.mse.model} on image ${f.mse.image_id}: each MSE is a smallest set of ` +
        `patches of the ${g}x${g} grid whose reveal keeps r = p(x(m)) / p_full above ` +
        `Ph = ${p("mse-search", "ph")} (beam width ${p("mse-search", "beamWidth")}); each ` +
        `sub-explanation is an MSE with one patch removed, with its r. Revealed patches are ` +
        `outlined in yellow; dimmed patches are hidden (the model sees the blurred baseline ` +
        `there). ${plural(f.mse.mses.length, "MSE")}. The explorer below draws the trees with ` +
        `their edges and the removed patch in red, for every model and image.`,
      spec: specs.mseSpec(f.mse, img, o.spec),
    });
  }
  if (f.channels) {
    const n = input.accuracy?.models.find((a) => a.images !== undefined)?.images;
    out.push({
      name: "fig5-channels",
      title: "Fig. 5: sorted channel activations",
      caption:
        `Each channel's maximal activation${
          f.channels.tensor ? ` in ${f.channels.tensor}` : " in the last block"
        } per image, averaged over ${n === undefined ? "the images" : plural(n, "image")}, ` +
        `sorted from the largest; ${plural(f.channels.curves.length, "model")}. A steep ` +
        `head means a few channels dominate (as in BatchNorm CNNs in the paper); a flat curve ` +
        `spreads evidence over many. Colour = family, dash = member.`,
      spec: specs.channelSpec(f.channels, o.spec, styles),
    });
  }
  if (f.landscape) {
    const images = p("cross-test", "images");
    out.push({
      name: "fig6-landscape",
      title: "Fig. 6: landscape of models",
      caption: `Kernel PCA (2 components) of K = (S + Sᵀ) / 2, the symmetrised cross-testing ` +
        `matrix of ${plural(f.landscape.points.length, "model")} (S[A][B]: mean normalised ` +
        `insertion AUC of A's heatmaps evaluated by B, over ` +
        `${images === "0" ? "every image explained" : `${images} images`}; b = ` +
        `${input.cross_matrix?.baseline_confidence ?? p("kpca", "baselineConfidence")}). ` +
        `Models close together use similar evidence; the axes have no units. Colour and shape ` +
        `= group; a grey line joins a label moved away from its point.`,
      spec: specs.landscapeSpec(f.landscape, o.spec, styles),
    });
  }
  if (f.cross_test) {
    const img = await loadTileImage(f.cross_test.image, o.imageSide, "figures.cross_test.image");
    out.push({
      name: "fig7-cross-test",
      title: "Fig. 7: heatmaps used in cross-testing",
      caption: `Each model's ${heatmap.name} heatmap ` +
        `(${p("igos-heatmaps", "maskSize")}x${p("igos-heatmaps", "maskSize")}` +
        `${heatmap.params ? `; ${heatmap.params}` : ""}) of image ${f.cross_test.image_id}, ` +
        `over the image in grey, ` +
        `normalised per heatmap: bright = salient. ${
          plural(f.cross_test.heatmaps.length, "model")
        }. ` +
        `Cross-testing reveals these cells to every other model; the explorer below shows the ` +
        `masked images and each model's confidence on them.`,
      spec: specs.crossTestSpec(f.cross_test, img, o.spec),
    });
  }
  if (f.group_matrix) {
    out.push({
      name: "fig8-group-matrix",
      title: "Fig. 8: cross-testing between groups",
      caption: `Mean of S over model groups (${plural(f.group_matrix.groups.length, "group")}): ` +
        `row = the group whose heatmaps are revealed, column = the group whose confidence is ` +
        `read. Not symmetric; pairs of a model with itself are ${
          p("kpca", "excludeSelf") === "true" ? "left out" : "included"
        }. A high row means that group's heatmaps convince other models too.`,
      spec: specs.groupMatrixSpec(f.group_matrix, o.spec),
    });
  }
  if (input.table1?.length) {
    out.push({
      name: "subexpl-counts",
      title: "Sub-explanation counts",
      caption: `Mean sub-explanations per image (tree counts: every node with r at or above ` +
        `the threshold in the trees under every MSE, as the paper counts) by model, in family ` +
        `order, at thresholds 0.8 to 0.5; ${
          imagesPerModel(input.table1.map((r) => r.images))
        }; bars are means, whiskers 95% percentile bootstrap intervals over images ` +
        `(${p("report", "bootstrap")} resamples). The axis is logarithmic above 1 (symmetric ` +
        `log): equal steps are equal ratios, so small counts stay visible beside large ones.`,
      spec: specs.subCountSpec(input.table1, "tree", o.spec, styles),
    });
  }
  return out;
}
