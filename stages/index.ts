/** The xcompare DAG: preprocess → infer-baselines → mse-search → subtree-count → igos-heatmaps → cross-test → kpca → report. */
import type { AnyStage } from "../pipeline/stage.ts";
import { preprocess } from "./preprocess.ts";
import { inferBaselines } from "./infer_baselines.ts";
import { mseSearch } from "./mse_search.ts";
import { subtreeCount } from "./subtree_count.ts";
import { igosHeatmaps } from "./igos_heatmaps.ts";
import { crossTest } from "./cross_testing.ts";
import { kpca } from "./kpca.ts";
import { report } from "./report.ts";

export const stages: AnyStage[] = [
  preprocess,
  inferBaselines,
  mseSearch,
  subtreeCount,
  igosHeatmaps,
  crossTest,
  kpca,
  report,
];
