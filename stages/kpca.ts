/**
 * kpca (METHODS §5): the cross-testing matrix S (mean normalised insertion AUC), its deletion
 * analog, the group matrix (Fig. 8, not symmetric) and the 2-D Kernel PCA landscape (Fig. 6).
 */
import type { Config } from "../configs/schema.ts";
import { bool, obj, oneOf, optional } from "../lib/schema.ts";
import type { Stage } from "../pipeline/stage.ts";
import {
  type Calibration,
  crossMatrix,
  type CrossRecord,
  groupMatrix,
} from "../explain/cross_matrix.ts";
import { kernelPca } from "../explain/kpca.ts";
import { baselinesRef, models } from "./support/common.ts";
import { readPredictionsFile } from "./support/predictions_io.ts";
import { noModelRows } from "./support/cost.ts";
import type { ReportContext, ReportPart } from "./support/report_part.ts";

/**
 * `b` of the normalisation `(s - b) / (t - b)`: `top1` (METHODS §5: the mean top-1 confidence on
 * blurred images, whatever class) or `predicted-class` (the mean confidence in ĉ on them). Where
 * the baseline keeps most of the class evidence or the model is confident on it, `top1` makes
 * `t - b` tiny and S explodes; the run log warns when `t - b < 0.1`.
 */
const params = obj({
  excludeSelf: optional(bool(), false),
  baselineConfidence: optional(oneOf("top1", "predicted-class"), "top1"),
});

interface KpcaParams {
  excludeSelf: boolean;
  baselineConfidence: "top1" | "predicted-class";
}

export const kpca: Stage<KpcaParams, Config, ReportContext, ReportPart> = {
  name: "kpca",
  after: ["infer-baselines", "cross-test"],
  module: import.meta.url,
  params,
  async plan({ config, params, upstream }) {
    const { models: ms } = await models(config);
    return [{
      id: "all",
      params: { models: ms.map((m) => ({ id: m.id, group: m.group })), ...params },
      inputs: [
        ...ms.map(baselinesRef),
        ...upstream["cross-test"].map((u) => ({ stage: "cross-test", unit: u.id })),
      ],
    }];
  },
  estimate: ({ models }) => noModelRows(models, 1, 0, "matrix algebra only"),
  async run(unit, io, { params }) {
    const p = unit.params as { models: { id: string; group: string }[] };
    const calibration: Record<string, Calibration> = {};
    const records: CrossRecord[] = [];
    for (const ref of unit.inputs) {
      if (ref.stage === "infer-baselines") {
        const pr = await readPredictionsFile(io, ref);
        const b = params.baselineConfidence === "top1" ? pr.b : pr.bPred;
        calibration[pr.model] = { top: pr.t, blurred: b };
        if (pr.t - b < 0.1) {
          io.log(
            `kpca: ${pr.model}: t - b = ${(pr.t - b).toFixed(3)} (t ${pr.t.toFixed(3)}, b ` +
              `${
                b.toFixed(3)
              }, ${params.baselineConfidence}); its normalised scores are ill-conditioned`,
          );
        }
        continue;
      }
      const auc = await io.readInputJson<{
        source: string;
        tested: string;
        images: { id: string; insertionAuc: number; deletionAuc: number | null }[];
      }>(ref, "auc.json");
      for (const im of auc.images) {
        records.push({
          source: auc.source,
          tested: auc.tested,
          image: im.id,
          insertionAuc: im.insertionAuc,
          deletionAuc: im.deletionAuc ?? undefined,
        });
      }
    }
    const ids = p.models.map((m) => m.id);
    const s = crossMatrix(records, calibration, { models: ids });
    const groupOf = Object.fromEntries(p.models.map((m) => [m.id, m.group]));
    const groups = groupMatrix(s.insertion, ids, groupOf, { excludeSelf: params.excludeSelf });
    const landscape = kernelPca(s.insertion);
    if (landscape.warning) io.log(landscape.warning);
    await io.writeJson("kpca.json", {
      models: p.models,
      calibration,
      baselineConfidence: params.baselineConfidence,
      S: s.insertion,
      deletion: s.deletion,
      counts: s.counts,
      // Per image, for the verdicts' bootstrap over images (null: the pair lacks the image).
      perImage: {
        images: s.perImage.images.map(String),
        insertion: s.perImage.insertion.map((row) =>
          row.map((values) => values.map((v) => (Number.isNaN(v) ? null : v)))
        ),
      },
      groupMatrix: groups,
      coords: landscape.coords,
      eigenvalues: landscape.eigenvalues,
      negativeEigenvalues: landscape.negativeEigenvalues,
      warning: landscape.warning ?? null,
    });
  },
  /** The cross-testing matrix S, Fig. 6's landscape and Fig. 8's group matrix. */
  async summarise(io, { units }) {
    const ref = units("kpca")[0];
    if (!ref) return {};
    const k = await io.readInputJson<{
      models: { id: string; group: string }[];
      coords: number[][];
      groupMatrix: { groups: string[]; values: number[][] };
      S: number[][];
      deletion: number[][] | null;
      baselineConfidence: string;
      perImage?: { images: string[]; insertion: (number | null)[][][] };
    }>(ref, "kpca.json");
    return {
      cross_matrix: {
        models: k.models.map((m) => m.id),
        insertion: k.S,
        deletion: k.deletion,
        baseline_confidence: k.baselineConfidence,
        ...(k.perImage
          ? { per_image: { image_ids: k.perImage.images, insertion: k.perImage.insertion } }
          : {}),
      },
      figures: {
        landscape: {
          points: k.models.map((m, i) => ({
            model: m.id,
            group: m.group,
            x: k.coords[i][0],
            y: k.coords[i][1] ?? 0,
          })),
        },
        group_matrix: { groups: k.groupMatrix.groups, values: k.groupMatrix.values },
      },
    };
  },
};
