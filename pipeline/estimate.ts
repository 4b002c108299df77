/**
 * `plan`'s walk over the DAG: each stage's own `estimate`, given its params, the estimates of the
 * stages before it and the store's finished units; and the hours those rows take at given rates.
 * Nothing is planned or run, so it works where the inputs are absent.
 */
import { parseStageParams, type PipelineSpec } from "./plan.ts";
import type { FinishedUnit, Measured, StageEstimate } from "./stage.ts";
import type { Store } from "./store.ts";

export interface NamedEstimate extends StageEstimate {
  stage: string;
}

export interface Estimates {
  /** In DAG order. */
  stages: NamedEstimate[];
  /** Every stage's measured averages, by name. */
  measured: Record<string, Measured>;
  /** Stages that declare no estimate. */
  unestimated: string[];
}

/** What the caller counted before anything runs. */
export interface Known {
  models: string[];
  images: number;
}

export async function estimateStages<C>(spec: PipelineSpec<C>, known: Known): Promise<Estimates> {
  const parsed = parseStageParams(spec);
  const stageParams = Object.fromEntries(parsed.map(({ stage, params }) => [stage.name, params]));
  const read = new Map<string, Promise<FinishedUnit[]>>();
  const finished = (stage: string) => {
    if (!read.has(stage)) read.set(stage, finishedUnits(spec.store, stage));
    return read.get(stage)!;
  };
  const upstream: Record<string, StageEstimate> = {};
  const out: Estimates = { stages: [], measured: {}, unestimated: [] };
  for (const { stage, params } of parsed) {
    if (!stage.estimate) {
      out.unestimated.push(stage.name);
      continue;
    }
    const e = await stage.estimate({
      config: spec.config,
      params,
      stageParams,
      upstream,
      ...known,
      finished,
    });
    upstream[stage.name] = e;
    out.stages.push({ stage: stage.name, ...e });
    Object.assign(out.measured, e.measured);
  }
  return out;
}

/** A stage's complete entries in the store, as estimates see them. */
export async function finishedUnits(store: Store, stage: string): Promise<FinishedUnit[]> {
  return (await store.manifests(stage)).map((m) => ({
    unit: m.unit,
    params: m.components?.params ?? {},
    inputs: m.components?.inputs ?? {},
    outputHash: m.outputHash,
    counters: m.counters ?? {},
  }));
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
export const totalForward = (s: StageEstimate) => sum(s.forward);
export const totalGradient = (s: StageEstimate) => sum(s.gradient);

/**
 * Hours of one stage, each model's rows at its own rate (forward rows per second), a gradient row
 * costing `gradientCost` forward rows.
 */
export function stageHours(
  s: StageEstimate,
  rate: (model: string) => number,
  gradientCost: number,
): number {
  let seconds = 0;
  for (const m of Object.keys(s.forward)) {
    const rows = s.forward[m] + gradientCost * (s.gradient[m] ?? 0);
    if (rows > 0) seconds += rows / rate(m);
  }
  return seconds / 3600;
}
