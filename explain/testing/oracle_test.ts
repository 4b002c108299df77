import { assertEquals, assertRejects } from "../../tests/assert.ts";
import { Memo } from "../memo.ts";
import { beamRecall, oracleMses } from "./oracle.ts";
import { additive, andParts, fnScorer, orParts, ToyScorer } from "./toy_scorers.ts";
import { fromIndices } from "../patchset.ts";

const patchesOf = (ms: { patches: number[] }[]) => ms.map((m) => m.patches);

Deno.test("oracle finds the hand-computed MSEs of additive, AND and OR models", async () => {
  // Additive, r = w(S) with w = [0.4, 0.3, 0.2, 0.1], Ph = 0.65. Sets above: {0,1} (0.7),
  // {0,2,3} (0.7) and their supersets; {0,2} (0.6), {1,2,3} (0.6) are not. MSEs: {0,1}, {0,2,3}.
  const add = additive([0.4, 0.3, 0.2, 0.1], { pFull: 0.8 });
  const memo = new Memo(new ToyScorer(2, [add]), { image: 0, cls: 0, pFull: 0.8, grid: 2 });
  assertEquals(patchesOf(await oracleMses(memo, { ph: 0.65, minimality: "all-subsets" })), [
    [0, 1],
    [0, 2, 3],
  ]);
  assertEquals(memo.evaluations, 16);

  const and = andParts([[1, 2], [6]]);
  const m2 = new Memo(new ToyScorer(3, [and]), { image: 0, cls: 0, pFull: and.pFull, grid: 3 });
  assertEquals(patchesOf(await oracleMses(m2)), [[1, 2, 6]]);

  const or = orParts([[0], [4]], [[8]]);
  const m3 = new Memo(new ToyScorer(3, [or]), { image: 0, cls: 0, pFull: or.pFull, grid: 3 });
  assertEquals(patchesOf(await oracleMses(m3)), [[0, 4], [8]]);
});

Deno.test("oracle minimality: all subsets versus one removal on a non-monotone model", async () => {
  // Above Ph: {0}, {0,1,2} and the full set; everything else low. {0,1,2} has no one-removal
  // subset above Ph but contains {0}: it is one-removal minimal, not minimal over all subsets.
  const above = new Set([fromIndices([0]), fromIndices([0, 1, 2]), 15]);
  const scorer = fnScorer(2, (s) => (above.has(s) ? 0.9 : 0.1));
  const memo = new Memo(scorer, { image: 0, cls: 0, pFull: 0.9, grid: 2 });
  assertEquals(patchesOf(await oracleMses(memo)), [[0]]);
  const local = await oracleMses(memo, { ph: 0.9 - 1e-6, minimality: "one-removal" });
  assertEquals(patchesOf(local), [[0], [0, 1, 2]]);
  assertEquals(scorer.distinct(), 16); // the second call reused the memo
});

Deno.test("beamRecall and the oracle's grid limit", async () => {
  const oracle = [{ subset: 3 }, { subset: 12 }];
  assertEquals(beamRecall([{ subset: 3 }, { subset: 5 }], oracle), 0.5);
  assertEquals(beamRecall([{ patches: [2, 3] }, { patches: [0, 1] }], oracle), 1);
  assertEquals(beamRecall([], []), 1);
  const memo = new Memo(fnScorer(5, () => 0.5), { image: 0, cls: 0, pFull: 0.5, grid: 5 });
  await assertRejects(() => oracleMses(memo), /2\^25 subsets/);
});
