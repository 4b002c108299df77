/**
 * Sub-explanation counting (METHODS.md §2). Each MSE roots a tree whose children delete one patch.
 * The paper counts tree nodes, so a subset reached along k deletion orders counts k times; scoring
 * every node would repeat the same subsets many times. Instead the trees are expanded as one DAG
 * of distinct subsets, largest first, with the number of tree paths reaching each subset carried
 * along: the `tree` count is exactly the reference's node count, `unique` counts distinct subsets,
 * and each distinct subset is scored once (through the memo shared with the beam search).
 *
 * Decisions, following the SAG reference (patch_deletion_tree.py: build_tree adds and scores the
 * root, get_subconjuncts gives a one-patch node no children):
 * - The root (the MSE itself) is a node of its tree and is counted (`countRoots`, default true);
 *   its r > Ph, so each MSE adds one to every threshold's count.
 * - A node of one patch has no children: the empty set is never a sub-explanation.
 * - Expansion and counting compare with `>=` as METHODS.md states (the reference used `>` on
 *   rounded percentages for expansion).
 */
import type { Memo } from "./memo.ts";
import { remove, size, toIndices } from "./patchset.ts";

export interface SubtreeOptions {
  /** `first3`: delete each of the first three patches (row-major), the reference; `all`: each. */
  children: "first3" | "all";
  /** A node is expanded only while r(node) >= this. */
  expandThreshold: number;
  /** Count nodes with r >= each of these. */
  countThresholds: number[];
  /** Whether the MSE at the root of each tree counts as a node. */
  countRoots: boolean;
}

/** The `paper` preset. */
export const defaults: SubtreeOptions = {
  children: "first3",
  expandThreshold: 0.5,
  countThresholds: [0.8, 0.7, 0.6, 0.5],
  countRoots: true,
};

export interface SubtreeResult {
  /** The thresholds counted, in the order of the options. */
  thresholds: number[];
  /** Nodes of all trees with r >= threshold (a subset reached twice counts twice): the paper's. */
  tree: number[];
  /** Distinct subsets among those nodes. */
  unique: number[];
  /**
   * The same two counts with every tree's root left out, whatever `countRoots` says: proper
   * subsets of the MSEs only (a subset that is one MSE's root and another's descendant counts
   * once per descendant copy). With `countRoots` true, `tree` minus `proper.tree` is the number
   * of roots at or above each threshold.
   */
  proper: { tree: number[]; unique: number[] };
  /** Every node of every tree, whatever its r: what a reference without sharing scores. */
  treeNodes: number;
  /** Distinct subsets among all nodes. */
  uniqueNodes: number;
  /** Subsets sent to the model while counting (those the beam search had not already scored). */
  evaluations: number;
  hits: number;
  /** Memo calls made (one per level). */
  levels: number;
}

/** Checks options, with errors that name the key at fault. */
export function validateSubtreeOptions(o: SubtreeOptions, where = "subtree options"): void {
  if (o.children !== "first3" && o.children !== "all") {
    throw new RangeError(`${where}: children must be "first3" or "all", got ${o.children}`);
  }
  if (!Number.isFinite(o.expandThreshold)) {
    throw new RangeError(`${where}: expandThreshold must be a number, got ${o.expandThreshold}`);
  }
  if (!Array.isArray(o.countThresholds) || o.countThresholds.some((t) => !Number.isFinite(t))) {
    throw new RangeError(`${where}: countThresholds must be an array of numbers`);
  }
  if (typeof o.countRoots !== "boolean") {
    throw new RangeError(`${where}: countRoots must be a boolean`);
  }
}

/** Children of a node: the node minus one patch, in row-major order of the patch deleted. */
export function childrenOf(subset: number, mode: SubtreeOptions["children"]): number[] {
  const idx = toIndices(subset);
  if (idx.length <= 1) return [];
  const k = mode === "first3" ? Math.min(3, idx.length) : idx.length;
  const out: number[] = [];
  for (let j = 0; j < k; j++) out.push(remove(subset, idx[j]));
  return out;
}

/** Counts the sub-explanation trees rooted at `roots` (the MSEs of the memo's image). */
export async function subtreeCount(
  memo: Memo,
  roots: readonly number[],
  options: SubtreeOptions = defaults,
): Promise<SubtreeResult> {
  validateSubtreeOptions(options);
  const ev0 = memo.evaluations, hits0 = memo.hits;
  const thresholds = [...options.countThresholds];
  // paths: how many tree nodes are this subset; rootCopies: how many of those are roots.
  const paths = new Map<number, number>();
  const rootCopies = new Map<number, number>();
  const bySize = new Map<number, Set<number>>();
  const visit = (s: number, copies: number) => {
    paths.set(s, (paths.get(s) ?? 0) + copies);
    const k = size(s);
    let bucket = bySize.get(k);
    if (!bucket) bySize.set(k, bucket = new Set());
    bucket.add(s);
  };
  for (const r of roots) {
    visit(r, 1);
    rootCopies.set(r, (rootCopies.get(r) ?? 0) + 1);
  }
  let levels = 0;
  if (roots.length > 0) {
    await memo.ratios([...new Set(roots)]);
    levels++;
  }
  const maxSize = Math.max(0, ...bySize.keys());
  // A child is one patch smaller than its parent, so going down in size visits every parent of a
  // subset (whichever tree it belongs to) before the subset itself.
  for (let k = maxSize; k >= 2; k--) {
    const bucket = bySize.get(k);
    if (!bucket) continue;
    const fresh: number[] = [];
    for (const s of bucket) {
      if (!(memo.get(s)! >= options.expandThreshold)) continue;
      const copies = paths.get(s)!;
      for (const c of childrenOf(s, options.children)) {
        if (!paths.has(c)) fresh.push(c);
        visit(c, copies);
      }
    }
    if (fresh.length > 0) {
      await memo.ratios(fresh);
      levels++;
    }
  }
  const zeros = () => thresholds.map(() => 0);
  const withRoots = { tree: zeros(), unique: zeros() };
  const proper = { tree: zeros(), unique: zeros() };
  let treeNodes = 0, uniqueNodes = 0;
  const add = (into: typeof proper, copies: number, r: number) => {
    if (copies === 0) return;
    thresholds.forEach((t, j) => {
      if (r >= t) {
        into.tree[j] += copies;
        into.unique[j]++;
      }
    });
  };
  for (const [s, total] of paths) {
    const properCopies = total - (rootCopies.get(s) ?? 0);
    const copies = options.countRoots ? total : properCopies;
    const r = memo.get(s)!;
    add(withRoots, total, r);
    add(proper, properCopies, r);
    if (copies === 0) continue;
    treeNodes += copies;
    uniqueNodes++;
  }
  const counted = options.countRoots ? withRoots : proper;
  return {
    thresholds,
    tree: counted.tree,
    unique: counted.unique,
    proper,
    treeNodes,
    uniqueNodes,
    evaluations: memo.evaluations - ev0,
    hits: memo.hits - hits0,
    levels,
  };
}

/** A root and its children with their ratios, for a figure. */
export interface TreeSample {
  root: { patches: number[]; ratio: number };
  children: { patches: number[]; removed: number; ratio: number }[];
}

/** The first `k` trees' roots and first children (scored through the memo, usually all hits). */
export async function sampleTrees(
  memo: Memo,
  roots: readonly number[],
  k: number,
  mode: SubtreeOptions["children"] = defaults.children,
): Promise<TreeSample[]> {
  const out: TreeSample[] = [];
  for (const root of roots.slice(0, k)) {
    const kids = childrenOf(root, mode);
    const r = await memo.ratios([root, ...kids]);
    const rootIdx = toIndices(root);
    out.push({
      root: { patches: rootIdx, ratio: r[0] },
      children: kids.map((c, j) => {
        const patches = toIndices(c);
        return { patches, removed: rootIdx.find((i) => !patches.includes(i))!, ratio: r[j + 1] };
      }),
    });
  }
  return out;
}
