/**
 * Insertion and deletion curves (METHODS §4): the heatmap's cells are revealed most salient first
 * and the evaluated model's p_c is read at each point. All points of all heatmaps go to the
 * Scorer in one call, so its batches are full whatever the number of images.
 */
import type { Scorer, ScoreRequest } from "./scorer.ts";

export interface InsertionOptions {
  /** Cells revealed per step (16 of 784: 49 steps, 50 points). */
  cellsPerStep: number;
  /** Also compute the deletion curve. */
  deletion: boolean;
}

export const defaults: Readonly<InsertionOptions> = Object.freeze({
  cellsPerStep: 16,
  deletion: true,
});

export interface InsertionRequest {
  /** Image index known to the scorer. */
  image: number;
  /** Saliency at mask resolution (square, row-major); high = salient. */
  heatmap: Float32Array;
  /** Class whose probability is read. */
  cls: number;
}

export interface InsertionCurve {
  /** Fraction of cells revealed at each point, 0..1. */
  fractions: Float64Array;
  /** p_c from B (nothing revealed) to I (everything revealed). */
  insertion: Float32Array;
  insertionAuc: number;
  /** p_c from I to B, hiding cells in the same order (absent when options.deletion is false). */
  deletion?: Float32Array;
  deletionAuc?: number;
}

/** Cell indices by decreasing saliency; ties by increasing index (deterministic). */
export function cellOrder(heatmap: ArrayLike<number>): Int32Array {
  const idx = Int32Array.from({ length: heatmap.length }, (_, i) => i);
  return idx.sort((a, b) => heatmap[b] - heatmap[a] || a - b);
}

/** Revealed-cell counts per point: 0, k, 2k, ..., all cells (the last step may be partial). */
export function stepCounts(cells: number, cellsPerStep: number): number[] {
  const counts = [0];
  for (let n = cellsPerStep; n < cells; n += cellsPerStep) counts.push(n);
  counts.push(cells);
  return counts;
}

/** Binary cell mask with the first `revealed` cells of `order` at `on`, the rest at 1 − on. */
export function stepMask(order: Int32Array, revealed: number, on: 0 | 1): Float32Array {
  const m = new Float32Array(order.length).fill(1 - on);
  for (let i = 0; i < revealed; i++) m[order[i]] = on;
  return m;
}

/** Area under y(x) by the trapezoid rule; x defaults to evenly spaced points over [0, 1]. */
export function trapezoidAuc(ys: ArrayLike<number>, xs?: ArrayLike<number>): number {
  const n = ys.length;
  if (n < 2) throw new Error(`insertion.trapezoidAuc: need at least 2 points, got ${n}`);
  let s = 0;
  for (let i = 1; i < n; i++) {
    const dx = xs ? xs[i] - xs[i - 1] : 1 / (n - 1);
    s += (dx * (ys[i] + ys[i - 1])) / 2;
  }
  return s;
}

/**
 * s̄ = (s − b)/(t − b): t is the evaluated model's mean top-1 confidence on the original images,
 * b on the fully blurred ones.
 */
export function normaliseScore(s: number, top: number, blurred: number, where = "score"): number {
  if (!(Number.isFinite(top) && Number.isFinite(blurred)) || top === blurred) {
    throw new Error(`insertion.normaliseScore: ${where} has t = ${top}, b = ${blurred}`);
  }
  return (s - blurred) / (top - blurred);
}

function validate(requests: readonly InsertionRequest[], o: InsertionOptions) {
  if (!Number.isInteger(o.cellsPerStep) || o.cellsPerStep < 1) {
    throw new Error(`insertion options: cellsPerStep must be a positive integer`);
  }
  requests.forEach((r, i) => {
    const g = Math.round(Math.sqrt(r.heatmap.length));
    if (g * g !== r.heatmap.length || g === 0) {
      throw new Error(
        `insertion: requests[${i}].heatmap has ${r.heatmap.length} cells, not square`,
      );
    }
    if (r.heatmap.some((v) => !Number.isFinite(v))) {
      throw new Error(`insertion: requests[${i}].heatmap has a non-finite value`);
    }
  });
}

/** Insertion (and deletion) curves and AUCs for every request, scored in one call. */
export async function insertionCurves(
  requests: readonly InsertionRequest[],
  scorer: Scorer,
  options: Partial<InsertionOptions> = {},
): Promise<InsertionCurve[]> {
  const o: InsertionOptions = { ...defaults, ...options };
  validate(requests, o);
  const batch: ScoreRequest[] = [];
  const plans = requests.map((r) => {
    const order = cellOrder(r.heatmap);
    const counts = stepCounts(order.length, o.cellsPerStep);
    const start = batch.length;
    for (const n of counts) batch.push({ image: r.image, cls: r.cls, mask: stepMask(order, n, 1) });
    if (o.deletion) {
      for (const n of counts) {
        batch.push({ image: r.image, cls: r.cls, mask: stepMask(order, n, 0) });
      }
    }
    return { start, counts, cells: order.length };
  });
  const scores = batch.length > 0 ? await scorer.score(batch) : new Float32Array(0);
  if (scores.length !== batch.length) {
    throw new Error(`insertion: scorer returned ${scores.length} scores for ${batch.length} masks`);
  }
  return plans.map(({ start, counts, cells }) => {
    const k = counts.length;
    const fractions = Float64Array.from(counts, (n) => n / cells);
    const insertion = scores.slice(start, start + k);
    const curve: InsertionCurve = {
      fractions,
      insertion,
      insertionAuc: trapezoidAuc(insertion, fractions),
    };
    if (o.deletion) {
      curve.deletion = scores.slice(start + k, start + 2 * k);
      curve.deletionAuc = trapezoidAuc(curve.deletion, fractions);
    }
    return curve;
  });
}
