/**
 * A pipeline (its stages, config and store) and its plan: every stage's params validated and every
 * unit listed before anything runs, so a typo or a dangling input fails fast. The runner, `status`,
 * `plan` and the cluster waves start here.
 */
import { orderStages } from "./dag.ts";
import type { AnyStage, RuntimeIdentity, UnitPlan } from "./stage.ts";
import type { Store } from "./store.ts";

export interface PipelineSpec<C> {
  stages: AnyStage[];
  config: C;
  /** Raw params block of a stage from the config (validated by the stage's schema). */
  stageParams: (stage: string) => unknown;
  /** Path prefix for params errors, e.g. `configs/default.json: stages`. */
  paramsPath?: string;
  store: Store;
  runtime: () => Promise<RuntimeIdentity>;
}

export interface PlannedStage {
  stage: AnyStage;
  params: unknown;
  units: UnitPlan[];
}

/** Every stage in DAG order with its params through its own schema (defaults filled). */
export function parseStageParams<C>(
  spec: PipelineSpec<C>,
): { stage: AnyStage; params: unknown }[] {
  return orderStages(spec.stages).map((stage) => ({
    stage,
    params: stage.params.parse(
      spec.stageParams(stage.name) ?? {},
      `${spec.paramsPath ?? "stages"}.${stage.name}`,
    ),
  }));
}

/** Validates every stage's params and plans every unit, before anything runs. */
export async function planAll<C>(spec: PipelineSpec<C>): Promise<PlannedStage[]> {
  const upstream: Record<string, UnitPlan[]> = {};
  const out: PlannedStage[] = [];
  // Every stage's params are validated before any stage plans, so a typo fails fast.
  for (const { stage, params } of parseStageParams(spec)) {
    const units = await stage.plan({ config: spec.config, params, upstream });
    const ids = new Set<string>();
    for (const u of units) {
      if (ids.has(u.id)) throw new Error(`stage ${stage.name}: duplicate unit id ${u.id}`);
      ids.add(u.id);
      for (const ref of u.inputs) {
        if (!stage.after.includes(ref.stage)) {
          throw new Error(
            `stage ${stage.name}, unit ${u.id}: reads ${ref.stage}, which is not in its "after" list`,
          );
        }
        if (!upstream[ref.stage]?.some((x) => x.id === ref.unit)) {
          throw new Error(
            `stage ${stage.name}, unit ${u.id}: unknown input ${ref.stage}/${ref.unit}`,
          );
        }
      }
    }
    upstream[stage.name] = units;
    out.push({ stage, params, units });
  }
  return out;
}
