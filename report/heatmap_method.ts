/**
 * The heatmap method a run used, in words, with that method's own parameters: captions and the
 * methods summary must not state iGOS++ iterations for an occlusion heatmap. The parameters the
 * igos-heatmaps stage does not expose (occlusion's window and stride, RISE's grid and keep
 * probability) are the defaults it runs with (explain/saliency.ts).
 */
import { occlusionDefaults, riseDefaults } from "../explain/saliency.ts";
import { aOrAn } from "./article.ts";

export interface HeatmapMethod {
  /** The method's name: "iGOS++", "RISE", "occlusion", "plain gradient" (as given otherwise). */
  name: string;
  /** Its parameters in words; empty when the run does not say. */
  params: string;
}

/**
 * From igos-heatmaps' resolved parameters, read by `param` ("?" where the input lacks one). An
 * unknown or missing method is named as given, without parameters.
 */
export function heatmapMethod(param: (key: string) => string): HeatmapMethod {
  const method = param("method");
  const known = (s: string) => (s === "?" ? "" : s);
  switch (method) {
    case "igos++": {
      const it = param("iterations"), steps = param("steps");
      return {
        name: "iGOS++",
        params: it === "?" || steps === "?" ? "" : `${it} iterations of ${steps} integration steps`,
      };
    }
    case "rise": {
      const masks = known(param("riseMasks"));
      const { cells, keep } = riseDefaults;
      return {
        name: "RISE",
        params: masks
          ? `${masks} random masks on ${
            aOrAn(cells)
          } ${cells}x${cells} grid, each cell kept with probability ` +
            `${keep}`
          : "",
      };
    }
    case "occlusion": {
      const { window, stride } = occlusionDefaults;
      return {
        name: "occlusion",
        params:
          `${
            aOrAn(window)
          } ${window}x${window}-cell window showing the baseline, moved ${stride} cells ` +
          `at a time; a cell's saliency is the mean drop in the class probability`,
      };
    }
    case "gradient":
      return {
        name: "plain gradient",
        params: "one gradient per image: |∂p/∂x| of the class probability, summed over " +
          "channels and pooled to the grid",
      };
    default:
      return { name: method, params: "" };
  }
}
