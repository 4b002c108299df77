/**
 * `plan`'s walk over the DAG: each stage's own `estimate`, given its params, the estimates of the
 * stages before it and the store's finished units; and the hours those rows take at given rates.
 * Nothing is planned or run, so it works where the inputs are absent.
 */
import { parseStageParams, type PipelineSpec } from "./plan.ts";
import type { FinishedUnit, Measured, StageEstimate } from "./stage.ts";
import type { Manifest, Store } from "./store.ts";

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
 * What one model's rows cost: forward rows/s of the Scorer and, where measured, rows/s of the
 * gradient graph (with and without the backward); unmeasured ones cost `gradientCost` forward rows
 * a gradient row and Scorer time a gradient-graph forward row.
 */
export interface ModelRates {
  forward: number;
  gradient?: number;
  gradientForward?: number;
}

/** Hours of one stage, each model's rows at its own rates. */
export function stageHours(
  s: StageEstimate,
  rates: (model: string) => ModelRates,
  gradientCost: number,
): number {
  let seconds = 0;
  for (const m of Object.keys(s.forward)) {
    const r = rates(m);
    const onGraph = Math.min(s.forward[m], s.gradientForward?.[m] ?? 0);
    const scorerRows = s.forward[m] - (r.gradientForward ? onGraph : 0);
    const gradient = s.gradient[m] ?? 0;
    if (scorerRows > 0) seconds += scorerRows / r.forward;
    if (r.gradientForward && onGraph > 0) seconds += onGraph / r.gradientForward;
    if (gradient > 0) {
      seconds += r.gradient ? gradient / r.gradient : gradientCost * gradient / r.forward;
    }
  }
  return seconds / 3600;
}

/** What a stage's finished units in the store took: the time `plan` calibrates its hours with. */
export interface MeasuredTime {
  units: number;
  /** Seconds during which at least one of the units was running (overlapping units count once). */
  busySeconds: number;
  /** Forward rows plus `gradientCost` x gradient rows the units counted. */
  rows: number;
}

/**
 * The busy time and weighted rows of a stage's finished units that `relevant` accepts (the caller
 * knows which units ran its models on its data), from their manifests (counters) and timings
 * sidecars (start and wall time); null when there are none. Units computed at once (a stage's `streams`, `--jobs`)
 * overlap, so their time is the union of their intervals, not the sum.
 */
export async function measuredTime(
  store: Store,
  stage: string,
  gradientCost: number,
  relevant: (m: Manifest) => boolean = () => true,
): Promise<MeasuredTime | null> {
  // When a unit started and how long it took live in its entry's timings sidecar.
  const timed = await Promise.all(
    (await store.manifests(stage)).filter(relevant).map(async (m) => {
      const t = await store.timings(stage, m.key);
      const start = Date.parse(String(t?.startedAt));
      return typeof t?.wallSeconds === "number" && !Number.isNaN(start)
        ? { m, span: [start / 1000, start / 1000 + t.wallSeconds] as const }
        : null;
    }),
  );
  const found = timed.filter((x) => x !== null);
  if (!found.length) return null;
  const ms = found.map((x) => x.m);
  const spans = found.map((x) => x.span).sort((a, b) => a[0] - b[0]);
  let busy = 0, end = -Infinity;
  for (const [s, e] of spans) {
    if (e <= end) continue;
    busy += e - Math.max(s, end);
    end = e;
  }
  const rows = ms.reduce(
    (a, m) => a + (m.counters?.modelEvals ?? 0) + gradientCost * (m.counters?.gradientEvals ?? 0),
    0,
  );
  return { units: ms.length, busySeconds: busy, rows };
}

/**
 * Hours of a stage at the pace its finished units kept: seconds per weighted row where both the
 * estimate and the store count rows, else seconds per unit.
 */
export function calibratedHours(s: StageEstimate, t: MeasuredTime, gradientCost: number): number {
  const rows = totalForward(s) + gradientCost * totalGradient(s);
  const seconds = rows > 0 && t.rows > 0
    ? rows * (t.busySeconds / t.rows)
    : s.units * (t.busySeconds / t.units);
  return seconds / 3600;
}
