/**
 * Exact minimal sufficient explanations for small grids (at most 4x4 = 2^16 subsets), by scoring
 * every subset: the ground truth against which the beam search's recall is measured.
 *
 * METHODS.md defines an MSE as a set with r > Ph of which no subset exceeds Ph. That is
 * `minimality: "all-subsets"` (the default). The beam search's minimisation only guarantees that
 * no single-patch removal stays above Ph (`"one-removal"`). For a monotone scorer (revealing more
 * never lowers r) the two coincide: if some proper subset T were above Ph, every set between T and
 * N would be too, in particular some N minus one patch. For a non-monotone scorer they can differ
 * (a set whose one-removal subsets are all below Ph can still contain a smaller set above Ph);
 * then all-subsets MSEs ⊆ one-removal MSEs, and every set the beam records is one-removal minimal.
 * The empty set is an MSE here when the baseline alone scores above Ph; the beam search then
 * reports "baseline suffices" with no MSEs instead.
 */
import type { Memo } from "../memo.ts";
import { fromIndices, toIndices, universe } from "../patchset.ts";

export interface OracleOptions {
  ph: number;
  minimality: "all-subsets" | "one-removal";
}

export const defaults: OracleOptions = { ph: 0.9, minimality: "all-subsets" };

/** Largest grid the oracle enumerates. */
export const MAX_ORACLE_PATCHES = 16;

/** Every MSE of the memo's image, ascending by subset, from ratios of all 2^n subsets. */
export async function oracleMses(
  memo: Memo,
  options: OracleOptions = defaults,
): Promise<{ subset: number; patches: number[]; ratio: number }[]> {
  const n = memo.info.grid * memo.info.grid;
  if (n > MAX_ORACLE_PATCHES) {
    throw new RangeError(
      `oracle: a ${memo.info.grid}x${memo.info.grid} grid has 2^${n} subsets; at most ${MAX_ORACLE_PATCHES} patches`,
    );
  }
  const total = universe(n);
  const all = Array.from({ length: total }, (_, s) => s);
  const r = await memo.ratios(all);
  const above = Uint8Array.from(r, (x) => (x > options.ph ? 1 : 0));
  // below[s] = 1 when some proper subset of s is above Ph (subset-sum DP, increasing s).
  const below = new Uint8Array(total);
  for (let s = 1; s < total; s++) {
    for (let i = 0; i < n; i++) {
      if (!(s & (1 << i))) continue;
      const t = s ^ (1 << i);
      if (above[t] || (options.minimality === "all-subsets" && below[t])) {
        below[s] = 1;
        break;
      }
    }
  }
  const out = [];
  for (let s = 0; s < total; s++) {
    if (above[s] && !below[s]) out.push({ subset: s, patches: toIndices(s), ratio: r[s] });
  }
  return out;
}

/** Fraction of the oracle's MSEs that the beam found (1 when the oracle has none). */
export function beamRecall(beamMses: readonly MseLike[], oracle: readonly MseLike[]): number {
  if (oracle.length === 0) return 1;
  const found = new Set(beamMses.map(keyOf));
  return oracle.filter((m) => found.has(keyOf(m))).length / oracle.length;
}

/** An MSE given by its subset number or its patch indices. */
export type MseLike = { subset: number } | { patches: readonly number[] };

function keyOf(m: MseLike): number {
  return "subset" in m ? m.subset : fromIndices(m.patches);
}
