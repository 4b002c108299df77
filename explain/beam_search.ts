/**
 * Minimal sufficient explanations by beam search (METHODS.md §1, after SAG): grow patch sets one
 * patch at a time from the empty set, keep the best `beamWidth` distinct states below Ph (or, with
 * `beam: "reference"`, the reference's `beamWidth + 1` states with repeats), and make every
 * successor above Ph minimal before recording it. All model access goes through the memo,
 * so each level's successors go to the model in one call and nothing is scored twice.
 *
 * The baseline alone comes first: where r(∅) > Ph already (a blur that keeps the class), every
 * search would end in the empty MSE, so the search stops there and flags the image "baseline
 * suffices" instead: a finding about the baseline, kept out of every MSE and sub-explanation mean.
 */
import type { UpsampleMode } from "./upsample.ts";
import type { Memo, RatioRule } from "./memo.ts";
import { add, has, remove, toIndices } from "./patchset.ts";

/** Which unrevealed patches a state may reveal next. */
export type Candidates =
  | { kind: "all" }
  | {
    kind: "igos-topq";
    /** How many of the lowest-valued unrevealed patches to try (15 in the paper). */
    q: number;
    /** The image's I-GOS mask at grid x grid, row-major (low = salient). Missing = fall back. */
    mask?: Float32Array;
  };

/**
 * Which states a level keeps (METHODS §1 step 4). `distinct`: the best `beamWidth` distinct
 * subsets below Ph (ours). `reference`: as SAG's beamSearch_get_topk_masks_roots, the first
 * `beamWidth + 1` entries below Ph of the sorted list of every successor, repeats included: a
 * subset generated from two beam states takes two places, and its successors are generated twice.
 */
export type BeamRule = "distinct" | "reference";

export interface MseOptions {
  /** Grid side; the memo must use the same grid. */
  grid: number;
  /** States kept per level: this many distinct ones, or this + 1 with repeats (`beam`). */
  beamWidth: number;
  /** How the next beam is chosen; absent = `distinct`. */
  beam?: BeamRule;
  /** Ph: a set is sufficient when r > ph. */
  ph: number;
  /**
   * What r is (memo.ts `RatioRule`): `paper` r = p(S)/p(I); `gain` r_g = (p(S) − p(∅)) /
   * (p(I) − p(∅)). The memo must use the same rule. Under either, an image whose paper r(∅)
   * exceeds ph is "baseline suffices": under `gain` its baseline lacks less than the (1 − ph)
   * share the paper itself tolerates, so r_g would rank subsets on noise.
   */
  ratio: RatioRule;
  candidates: Candidates;
  /** Stop after a level that leaves more than this many MSEs recorded. */
  maxMses: number;
  /**
   * How the scorer upsamples the grid. The search never uses it (the Scorer composes); it is kept
   * so the stage's options, and so its cache key, name the composition that produced the MSEs.
   */
  upsample: UpsampleMode;
}

/** The `paper` preset. */
export const defaults: MseOptions = {
  grid: 7,
  beamWidth: 5,
  ph: 0.9,
  candidates: { kind: "igos-topq", q: 15 },
  maxMses: 10,
  upsample: "bilinear",
  ratio: "paper",
  beam: "distinct",
};

/** One minimal sufficient explanation. */
export interface Mse {
  /** Patch indices, ascending (row-major). */
  patches: number[];
  /** The subset as a number (see patchset.ts). */
  subset: number;
  ratio: number;
  /** The level (patches revealed by the successor) at which it was found; its size is at most this. */
  level: number;
}

export interface MseResult {
  /** r(∅) > ph: the baseline alone keeps the class; the search stopped with no MSEs. */
  baselineSuffices: boolean;
  /** r(∅), the paper's ratio of the baseline alone (whatever the rule). */
  emptyRatio: number;
  mses: Mse[];
  count: number;
  /** Mean number of patches per MSE; NaN when none was found. */
  meanSize: number;
  /** Levels expanded. */
  levels: number;
  /** Subsets this search sent to the model (memo evaluations during the search). */
  evaluations: number;
  /** Requests the memo answered without the model during the search. */
  hits: number;
  /**
   * Subsets a search without any memo would have scored: every successor of every state,
   * duplicates included, plus every probe of the minimisation (the reference's cost).
   */
  unsharedEvaluations: number;
  /** Anything that made this search differ from its options (for example a candidate fallback). */
  notes: string[];
}

/** Checks options, with errors that name the key at fault. */
export function validateMseOptions(o: MseOptions, where = "mse options"): void {
  const intAtLeast = (v: number, min: number, key: string) => {
    if (!Number.isInteger(v) || v < min) {
      throw new RangeError(`${where}: ${key} must be an integer >= ${min}, got ${v}`);
    }
  };
  intAtLeast(o.grid, 1, "grid");
  if (o.grid * o.grid > 53) {
    throw new RangeError(`${where}: grid ${o.grid} has more than 53 patches`);
  }
  intAtLeast(o.beamWidth, 1, "beamWidth");
  intAtLeast(o.maxMses, 0, "maxMses");
  if (!(o.ph > 0 && o.ph < 1)) throw new RangeError(`${where}: ph must be in (0, 1), got ${o.ph}`);
  if (o.beam !== undefined && o.beam !== "distinct" && o.beam !== "reference") {
    throw new RangeError(`${where}: beam must be "distinct" or "reference", got ${o.beam}`);
  }
  if (o.ratio !== "paper" && o.ratio !== "gain") {
    throw new RangeError(`${where}: ratio must be "paper" or "gain", got ${o.ratio}`);
  }
  if (o.upsample !== "bilinear" && o.upsample !== "nearest") {
    throw new RangeError(`${where}: upsample must be "bilinear" or "nearest", got ${o.upsample}`);
  }
  const c = o.candidates;
  if (c.kind === "igos-topq") {
    intAtLeast(c.q, 1, "candidates.q");
    if (c.mask && c.mask.length !== o.grid * o.grid) {
      throw new RangeError(
        `${where}: candidates.mask has ${c.mask.length} values, expected ${o.grid}x${o.grid}`,
      );
    }
    if (c.mask?.some((v) => !Number.isFinite(v))) {
      throw new RangeError(`${where}: candidates.mask holds a non-finite value`);
    }
  } else if (c.kind !== "all") {
    throw new RangeError(`${where}: candidates.kind must be "all" or "igos-topq"`);
  }
}

/** Makes a function giving the candidate patches of a state, in the order they are tried. */
function candidateFn(o: MseOptions, notes: string[]): (state: number) => number[] {
  const n = o.grid * o.grid;
  const c = o.candidates;
  if (c.kind === "igos-topq" && c.mask) {
    const mask = c.mask;
    // Lowest mask value first (most salient); ties by index, so the order is reproducible.
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => mask[a] - mask[b] || a - b);
    return (state) => {
      const out: number[] = [];
      for (const i of order) {
        if (!has(state, i)) out.push(i);
        if (out.length === c.q) break;
      }
      return out;
    };
  }
  if (c.kind === "igos-topq") {
    notes.push(
      `candidates igos-topq (q=${c.q}) asked for but no I-GOS mask was supplied: used all unrevealed patches`,
    );
  }
  return (state) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) if (!has(state, i)) out.push(i);
    return out;
  };
}

/**
 * Hides, in row-major order, each patch whose removal keeps r > ph, repeating passes until a pass
 * changes nothing (the reference's remove_extra_patches). Returns the set, its ratio and probes.
 */
export async function minimise(
  memo: Memo,
  subset: number,
  ratio: number,
  ph: number,
): Promise<{ subset: number; ratio: number; probes: number }> {
  let cur = subset, r = ratio, probes = 0;
  for (let changed = true; changed;) {
    changed = false;
    for (const i of toIndices(cur)) {
      const next = remove(cur, i);
      const rn = await memo.ratio(next);
      probes++;
      if (rn > ph) {
        cur = next;
        r = rn;
        changed = true;
      }
    }
  }
  return { subset: cur, ratio: r, probes };
}

/**
 * The next beam from one level's successors (generation order, repeats included) and their
 * ratios: successors below Ph, highest r first, equal r in generation order. `distinct` keeps the
 * first `width` distinct subsets; `reference` the first `width + 1` entries, repeats included.
 */
export function selectBeam(
  successors: readonly number[],
  ratioOf: (subset: number) => number,
  ph: number,
  width: number,
  rule: BeamRule = "distinct",
): number[] {
  const pool = rule === "distinct" ? [...new Set(successors)] : [...successors];
  const r = pool.map(ratioOf);
  // Array.prototype.sort is stable: equal r keeps generation order.
  const order = pool.map((_, k) => k).sort((a, b) => r[b] - r[a]);
  const below = order.filter((k) => !(r[k] > ph));
  return below.slice(0, rule === "distinct" ? width : width + 1).map((k) => pool[k]);
}

/** Beam search for the MSEs of one image (the memo's image) under one model. */
export async function beamSearch(memo: Memo, options: MseOptions = defaults): Promise<MseResult> {
  validateMseOptions(options);
  if (memo.info.grid !== options.grid) {
    throw new RangeError(
      `beam_search: options.grid is ${options.grid} but the memo of image ${memo.info.image} uses ${memo.info.grid}`,
    );
  }
  if ((memo.info.ratio ?? "paper") !== options.ratio) {
    throw new RangeError(
      `beam_search: options.ratio is ${options.ratio} but the memo of image ${memo.info.image} uses ${
        memo.info.ratio ?? "paper"
      }`,
    );
  }
  const { ph, beamWidth, maxMses } = options;
  const rule = options.beam ?? "distinct";
  const n = options.grid * options.grid;
  const notes: string[] = [];
  const candidates = candidateFn(options, notes);
  const ev0 = memo.evaluations, hits0 = memo.hits;
  const emptyRatio = await memo.emptyRatio();
  let unshared = 1;
  const mses: Mse[] = [];
  const recorded = new Set<number>();
  const baselineSuffices = emptyRatio > ph;
  let beam: number[] = baselineSuffices ? [] : [0];
  let level = 0;
  while (beam.length > 0 && level < n) {
    // Every successor of every state, in beam order then candidate order.
    const successors: number[] = [];
    for (const state of beam) for (const i of candidates(state)) successors.push(add(state, i));
    if (successors.length === 0) break;
    unshared += successors.length;
    level++;
    const copies = new Map<number, number>();
    for (const s of successors) copies.set(s, (copies.get(s) ?? 0) + 1);
    const distinct = [...copies.keys()];
    const r = await memo.ratios(distinct);
    // Highest r first; equal r keeps generation order (Array.prototype.sort is stable).
    const order = distinct.map((_, k) => k).sort((a, b) => r[b] - r[a]);
    const above = order.filter((k) => r[k] > ph);
    const minimal = await Promise.all(above.map((k) => minimise(memo, distinct[k], r[k], ph)));
    for (const [j, m] of minimal.entries()) {
      // Without a memo every copy of a successor is minimised again.
      unshared += m.probes * copies.get(distinct[above[j]])!;
      if (recorded.has(m.subset)) continue;
      recorded.add(m.subset);
      mses.push({ patches: toIndices(m.subset), subset: m.subset, ratio: m.ratio, level });
    }
    const ratioOf = new Map(distinct.map((s, k) => [s, r[k]]));
    beam = selectBeam(successors, (s) => ratioOf.get(s)!, ph, beamWidth, rule);
    if (mses.length > maxMses) break;
  }
  const sizes = mses.map((m) => m.patches.length);
  return {
    baselineSuffices,
    emptyRatio,
    mses,
    count: mses.length,
    meanSize: sizes.length ? sizes.reduce((a, b) => a + b, 0) / sizes.length : NaN,
    levels: level,
    evaluations: memo.evaluations - ev0,
    hits: memo.hits - hits0,
    unsharedEvaluations: unshared,
    notes,
  };
}
