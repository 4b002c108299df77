import { assert, assertEquals } from "../tests/assert.ts";
import { Memo } from "./memo.ts";
import { childrenOf, defaults, sampleTrees, subtreeCount, type SubtreeOptions } from "./subtree.ts";
import { additive, fnScorer, ToyScorer } from "./testing/toy_scorers.ts";
import { fromIndices, toIndices } from "./patchset.ts";
import { Rng } from "../lib/rng.ts";

Deno.test("children delete the first three patches (row-major) or every patch; none below two", () => {
  const s = fromIndices([2, 5, 7, 40]);
  assertEquals(childrenOf(s, "first3").map(toIndices), [[5, 7, 40], [2, 7, 40], [2, 5, 40]]);
  assertEquals(childrenOf(s, "all").length, 4);
  assertEquals(childrenOf(fromIndices([3, 4]), "first3").map(toIndices), [[4], [3]]);
  assertEquals(childrenOf(fromIndices([3]), "all"), []);
});

/*
 * Hand computation. Additive model on 3x3, r(S) = w(S) with w = [0.44, 0.31, 0.17, 0.08, 0...],
 * one tree rooted at N = {0,1,2,3} (r = 1.00), children first3, expand while r >= 0.5.
 *   depth 1: -0 {1,2,3} .56   -1 {0,2,3} .69   -2 {0,1,3} .83            (all expanded)
 *   depth 2: from {1,2,3}: {2,3} .25  {1,3} .39  {1,2} .48
 *            from {0,2,3}: {2,3} .25  {0,3} .52  {0,2} .61
 *            from {0,1,3}: {1,3} .39  {0,3} .52  {0,1} .75
 *            expanded: {0,3} (twice), {0,2}, {0,1}
 *   depth 3: {0,3} -> {3} .08 {0} .44 (twice);  {0,2} -> {2} .17 {0} .44;  {0,1} -> {1} .31 {0} .44
 * Nodes: 1 + 3 + 9 + 8 = 21; distinct: 1 + 3 + 6 + 4 = 14.
 * tree  >= .8: N, {0,1,3} = 2;  >= .7: + {0,1} = 3;  >= .6: + {0,2,3}, {0,2} = 5;
 *       >= .5: + {1,2,3}, {0,3}, {0,3} = 8.
 * unique: 2, 3, 5, 7 ({0,3} once). Without roots: tree 1, 2, 4, 7; unique 1, 2, 4, 6.
 * Memo calls: roots, then the distinct new subsets of each size: 1, 3, 6, 4 masks.
 */
const w = [0.44, 0.31, 0.17, 0.08, 0, 0, 0, 0, 0];
const root = fromIndices([0, 1, 2, 3]);

Deno.test("subtree counts match the hand computation", async () => {
  const scorer = new ToyScorer(3, [additive(w, { pFull: 0.8 })]);
  const memo = new Memo(scorer, { image: 0, cls: 0, pFull: 0.8, grid: 3 });
  const res = await subtreeCount(memo, [root], defaults);
  assertEquals(res.thresholds, [0.8, 0.7, 0.6, 0.5]);
  assertEquals(res.tree, [2, 3, 5, 8]);
  assertEquals(res.unique, [2, 3, 5, 7]);
  assertEquals(res.treeNodes, 21);
  assertEquals(res.uniqueNodes, 14);
  assertEquals(scorer.batchSizes, [1, 3, 6, 4]);
  assertEquals(res.evaluations, 14);
  assertEquals(scorer.distinct(), 14);
  assertEquals(res.levels, 4);
  // Proper subsets only: the one root (r = 0.8 >= every threshold) leaves each column.
  assertEquals(res.proper, { tree: [1, 2, 4, 7], unique: [1, 2, 4, 6] });

  const noRoots = await subtreeCount(memo, [root], { ...defaults, countRoots: false });
  assertEquals(noRoots.tree, [1, 2, 4, 7]);
  assertEquals(noRoots.unique, [1, 2, 4, 6]);
  assertEquals(noRoots.proper, res.proper);
  assertEquals(noRoots.evaluations, 0); // all reused from the memo
  assertEquals(scorer.calls, 4);

  const [sample] = await sampleTrees(memo, [root], 1);
  assertEquals(sample.root.patches, [0, 1, 2, 3]);
  assertEquals(sample.children.map((c) => c.removed), [0, 1, 2]);
  assertEquals(sample.children.map((c) => Math.round(c.ratio * 100)), [56, 69, 83]);
});

/** The reference: build every tree node by node, scoring each node, nothing shared. */
function referenceCount(
  ratio: (s: number) => number,
  roots: number[],
  o: SubtreeOptions,
): { tree: number[]; nodes: number; unique: number[] } {
  const tree = o.countThresholds.map(() => 0);
  const seen = new Set<number>();
  let nodes = 0;
  const visit = (s: number, isRoot: boolean) => {
    const r = ratio(s);
    if (!isRoot || o.countRoots) {
      nodes++;
      seen.add(s);
      o.countThresholds.forEach((t, j) => (tree[j] += r >= t ? 1 : 0));
    }
    if (r >= o.expandThreshold) { for (const c of childrenOf(s, o.children)) visit(c, false); }
  };
  for (const r of roots) visit(r, true);
  const unique = o.countThresholds.map((t) => [...seen].filter((s) => ratio(s) >= t).length);
  return { tree, nodes, unique };
}

Deno.test("subtree counts equal a node-by-node reference on random models, first3 and all", async () => {
  const rng = new Rng(9);
  let expanded = 0;
  for (let t = 0; t < 12; t++) {
    // Additive weights plus pairwise interactions on a 4x4 grid; several random roots.
    const wt = Array.from({ length: 16 }, () => rng.next());
    const pairs = Array.from({ length: 10 }, () => [rng.int(16), rng.int(16), rng.next()]);
    const g = (s: number) => {
      let v = 0;
      for (let i = 0; i < 16; i++) if (s & (1 << i)) v += wt[i];
      for (const [a, b, x] of pairs) if (s & (1 << a) && s & (1 << b)) v += x;
      return v;
    };
    const full = g(0xffff);
    const scorer = fnScorer(4, (s) => 0.9 * g(s) / full);
    const memo = new Memo(scorer, { image: 0, cls: 0, pFull: 0.9, grid: 4 });
    const roots = Array.from({ length: 3 }, () => {
      let s = 0;
      while (toIndices(s).length < 10) s |= 1 << rng.int(16);
      return s;
    });
    for (const children of ["first3", "all"] as const) {
      // Lower thresholds than the paper's so that the random trees grow deep.
      const o = {
        children,
        expandThreshold: 0.35,
        countThresholds: [0.7, 0.6, 0.5, 0.4],
        countRoots: t % 2 === 0,
      };
      const got = await subtreeCount(memo, roots, o);
      const ref = referenceCount((s) => memo.get(s) ?? NaN, roots, o);
      assertEquals(got.tree, ref.tree, `trial ${t} ${children}`);
      assertEquals(got.unique, ref.unique, `trial ${t} ${children}`);
      assertEquals(got.treeNodes, ref.nodes, `trial ${t} ${children}`);
      const proper = referenceCount((s) => memo.get(s) ?? NaN, roots, { ...o, countRoots: false });
      assertEquals(got.proper, { tree: proper.tree, unique: proper.unique }, `trial ${t} proper`);
      assert(got.treeNodes >= got.uniqueNodes);
      expanded += got.treeNodes - roots.length;
    }
    assertEquals(memo.evaluations, scorer.distinct());
    assertEquals(scorer.maxRepeats(), 1);
  }
  console.log(`nodes below the roots: ${expanded}`);
  assert(expanded > 1000, "the random trees are deep enough to test sharing");
});

Deno.test("subtree options are validated", async () => {
  const memo = new Memo(fnScorer(2, () => 0.5), { image: 0, cls: 0, pFull: 0.5, grid: 2 });
  let msg = "";
  try {
    await subtreeCount(memo, [3], { ...defaults, children: "first2" as "all" });
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(/children must be/.test(msg), msg);
});
