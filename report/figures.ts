/**
 * Chooses the figures present in the input and builds their specs, resolving tile images first.
 * Names are fixed, so file names never come from user data.
 */
import type { TopLevelSpec } from "vega-lite";
import type { ReportInput } from "./input.ts";
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

export async function buildFigures(
  input: ReportInput,
  options: Partial<FigureOptions> = {},
): Promise<FigureDef[]> {
  const o = { ...defaults, ...options, spec: { ...defaults.spec, ...options.spec } };
  const f = input.figures ?? {};
  const out: FigureDef[] = [];
  if (f.insertion) {
    out.push({
      name: "fig3-insertion",
      title: "Fig. 3: insertion curves",
      caption: "Probability of the class as the most salient cells are revealed, one curve per " +
        "model, on one image.",
      spec: specs.insertionSpec(f.insertion, o.spec),
    });
  }
  if (f.mse) {
    const img = await loadTileImage(f.mse.image, o.imageSide, "figures.mse.image");
    out.push({
      name: "fig4-mse",
      title: "Fig. 4: MSEs and sub-explanations",
      caption: "Revealed patches are outlined, hidden ones dimmed; r is the likelihood ratio.",
      spec: specs.mseSpec(f.mse, img, o.spec),
    });
  }
  if (f.channels) {
    out.push({
      name: "fig5-channels",
      title: "Fig. 5: sorted channel activations",
      caption: "Each channel's maximal activation per image, averaged over images, sorted.",
      spec: specs.channelSpec(f.channels, o.spec),
    });
  }
  if (f.landscape) {
    out.push({
      name: "fig6-landscape",
      title: "Fig. 6: landscape of models",
      caption: "Kernel PCA of the symmetrised cross-testing matrix; colour = model group.",
      spec: specs.landscapeSpec(f.landscape, o.spec),
    });
  }
  if (f.cross_test) {
    const img = await loadTileImage(f.cross_test.image, o.imageSide, "figures.cross_test.image");
    out.push({
      name: "fig7-cross-test",
      title: "Fig. 7: heatmaps used in cross-testing",
      caption: "Each model's heatmap drawn over the image (normalised per heatmap).",
      spec: specs.crossTestSpec(f.cross_test, img, o.spec),
    });
  }
  if (f.group_matrix) {
    out.push({
      name: "fig8-group-matrix",
      title: "Fig. 8: cross-testing between groups",
      caption: "Rows: group whose heatmaps are used; columns: group tested. Not symmetric.",
      spec: specs.groupMatrixSpec(f.group_matrix, o.spec),
    });
  }
  if (input.table1?.length) {
    out.push({
      name: "subexpl-counts",
      title: "Sub-explanation counts",
      caption: "Mean sub-explanations per image by model and threshold, with 95% bootstrap " +
        "intervals.",
      spec: specs.subCountSpec(input.table1, "tree", o.spec),
    });
  }
  return out;
}
