/**
 * The xcompare DAG: preprocess → infer-baselines → mse-search → subtree-count → igos-heatmaps →
 * cross-test → kpca → report. The report summarises every stage before it, in this order: a
 * reported stage needs only its entry here and its `summarise`.
 */
import type { AnyStage } from "../pipeline/stage.ts";
import { preprocess } from "./preprocess.ts";
import { inferBaselines } from "./infer_baselines.ts";
import { mseSearch } from "./mse_search.ts";
import { subtreeCount } from "./subtree_count.ts";
import { igosHeatmaps } from "./igos_heatmaps.ts";
import { crossTest } from "./cross_testing.ts";
import { kpca } from "./kpca.ts";
import { reportStage } from "./report.ts";

const reported = [
  preprocess,
  inferBaselines,
  mseSearch,
  subtreeCount,
  igosHeatmaps,
  crossTest,
  kpca,
];

export const stages: AnyStage[] = [...reported, reportStage(reported, import.meta.url)];
