/**
 * Arithmetic the stages' `estimate` hooks share (`xcompare plan`): I-GOS and curve row counts, and
 * per-image averages of what finished units counted, which replace the assumed costs once a run
 * has measured them.
 */
import type { FinishedUnit, Measured, StageEstimate } from "../../pipeline/stage.ts";

/**
 * Line-search trials per I-GOS iteration when nothing is measured: alpha from 1000 by x0.2 to the
 * Armijo point.
 */
export const assumedLineSearchTrials = 8;

export const chunks = (n: number, size: number) => Math.ceil(n / size);
/** The first `n` of `total` images (all of them when `n` is 0). */
export const limit = (n: number, total: number) => (n > 0 ? Math.min(n, total) : total);
export const perModel = (models: string[], v: number): Record<string, number> =>
  Object.fromEntries(models.map((m) => [m, v]));

/** The estimate of a stage that evaluates no model. */
export function noModelRows(
  models: string[],
  units: number,
  images: number,
  basis: string,
): StageEstimate {
  return { units, images, forward: perModel(models, 0), gradient: perModel(models, 0), basis };
}

/**
 * Forward and gradient rows per image of one I-GOS run (`terms` 4 for iGOS++, 1 for I-GOS); every
 * one of them runs on the gradient graph.
 */
export function igosRows(
  iterations: number,
  steps: number,
  terms: number,
  trials: number,
): { forward: number; gradient: number } {
  // Per iteration: gradients of every term, L(old) once, then `trials` line-search evaluations.
  return {
    gradient: iterations * terms * steps,
    forward: iterations * (1 + trials) * terms * steps,
  };
}

/** Insertion/deletion curve points for a heatmap of maskSize² cells revealed cellsPerStep a step. */
export function curvePoints(maskSize: number, cellsPerStep: number): number {
  return Math.ceil((maskSize * maskSize) / cellsPerStep) + 1;
}

/** One finished unit's counters over the images it covered, with the settings it ran with. */
export interface Sample {
  model: string;
  images: number;
  counters: Record<string, number>;
  params: Record<string, unknown>;
}

/**
 * Samples of per-(model, chunk) units (`<model>/<chunk>`, params `{ count, [settings]: ... }`):
 * images = the unit's count, params = its `settings` block.
 */
export function chunkSamples(units: FinishedUnit[], settings: string): Sample[] {
  return units.map((u) => {
    const p = u.params as Record<string, unknown>;
    return {
      model: u.unit.split("/")[0],
      images: (p.count as number | undefined) ?? 0,
      counters: u.counters,
      params: (p[settings] as Record<string, unknown> | undefined) ?? {},
    };
  });
}

/** Where samples came from, said beside the averages they give. */
export function describeSamples(xs: Sample[]): string {
  const models = [...new Set(xs.map((x) => x.model))];
  return `measured over ${xs.reduce((a, x) => a + x.images, 0)} images of ${
    models.slice(0, 4).join(", ")
  }${models.length > 4 ? ` and ${models.length - 4} more` : ""} in the store`;
}

/**
 * The samples of the planned models when any of them has some: a store that also holds another
 * dataset's models (the zoo beside ImageNet) must not lend their search sizes to these. Otherwise
 * all of them, and the source says they come from other models.
 */
export function ofPlannedModels(
  xs: Sample[],
  models: string[],
): { samples: Sample[]; borrowed: boolean } {
  const planned = new Set(models);
  const own = xs.filter((x) => planned.has(x.model));
  return own.length ? { samples: own, borrowed: false } : { samples: xs, borrowed: xs.length > 0 };
}

/** A counter's mean per image over samples that cover at least one image. */
export function perImage(xs: Sample[], counter: string, borrowed = false): Measured {
  const n = xs.reduce((a, x) => a + x.images, 0);
  return {
    value: xs.reduce((a, x) => a + (x.counters[counter] ?? 0), 0) / n,
    source: describeSamples(xs) + (borrowed ? ", none of them planned here" : ""),
  };
}

/** The beam-search settings that a search's cost depends on. */
export interface SearchSettings {
  candidates: string;
  grid: number;
  beamWidth: number;
  beam?: string;
}

/** Whether a measured search ran with the planned settings (only those averages apply). */
export const sameSearch = (s: Record<string, unknown>, p: SearchSettings) =>
  s.candidates === p.candidates && s.grid === p.grid && s.beamWidth === p.beamWidth &&
  (s.beam ?? "distinct") === (p.beam ?? "distinct");

/**
 * Line-search trials per I-GOS iteration, measured on igos-heatmaps' finished iGOS++ units
 * (forward rows = iterations x (1 + trials) x 4 x steps per image), else assumed; `basis` says
 * which.
 */
export async function lineSearchTrials(
  finished: (stage: string) => Promise<FinishedUnit[]>,
  models: string[],
): Promise<{ value: number; basis: string; measured?: Measured }> {
  const { samples: ig, borrowed } = ofPlannedModels(
    chunkSamples(await finished("igos-heatmaps"), "heatmaps").filter((s) =>
      s.images > 0 && s.params.method === "igos++" &&
      typeof s.params.iterations === "number" && typeof s.params.steps === "number"
    ),
    models,
  );
  let rows = 0, per = 0;
  for (const s of ig) {
    rows += s.counters.modelEvals ?? 0;
    per += s.images * (s.params.iterations as number) * 4 * (s.params.steps as number);
  }
  if (ig.length && per > 0 && rows > 0) {
    const measured = {
      value: Math.max(0, rows / per - 1),
      source: describeSamples(ig) + (borrowed ? ", none of them planned here" : ""),
    };
    return {
      value: measured.value,
      basis: `${measured.value.toFixed(1)} line-search trials/iteration (${measured.source})`,
      measured,
    };
  }
  return {
    value: assumedLineSearchTrials,
    basis: `${assumedLineSearchTrials} line-search trials/iteration (assumed)`,
  };
}
