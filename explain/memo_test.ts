import { assert, assertEquals, assertRejects, assertThrows } from "../tests/assert.ts";
import { Memo } from "./memo.ts";
import { additive, fnScorer, ToyScorer } from "./testing/toy_scorers.ts";
import { fromIndices, size } from "./patchset.ts";
import type { Scorer, ScoreRequest } from "./scorer.ts";

const info = { image: 0, cls: 3, pFull: 0.8, grid: 2 };

Deno.test("memo sends each distinct subset once, also across concurrent callers", async () => {
  const model = additive([0.4, 0.3, 0.2, 0.1], { pFull: 0.8 });
  const scorer = new ToyScorer(2, [model]);
  const memo = new Memo(scorer, info);
  // Two callers at once, overlapping on subsets 3 and 5; the first also repeats 1.
  const [a, b] = await Promise.all([memo.ratios([1, 3, 5, 1]), memo.ratios([3, 5, 6])]);
  assertEquals(scorer.calls, 2);
  assertEquals(scorer.batchSizes, [3, 1]); // the second call only sends subset 6
  assertEquals(scorer.maxRepeats(), 1);
  assertEquals(memo.evaluations, scorer.distinct());
  assertEquals(memo.evaluations, 4);
  assertEquals(memo.requests, 7);
  assertEquals(memo.hits + memo.evaluations, memo.requests);
  for (const [subsets, got] of [[[1, 3, 5, 1], a], [[3, 5, 6], b]] as const) {
    subsets.forEach((s, i) => {
      const expected = Math.fround(Math.fround(model.prob(s)) / 0.8);
      assertEquals(got[i], expected, `subset ${s}`);
      assert(Math.abs(got[i] - model.ratio(s)) < 1e-6);
    });
  }
  // Everything known now: no new call.
  await memo.ratios([6, 5, 3, 1]);
  assertEquals(scorer.calls, 2);
});

Deno.test("memo passes image, class and a 0/1 mask to the scorer", async () => {
  const got: ScoreRequest[] = [];
  const scorer: Scorer = {
    score(reqs) {
      got.push(...reqs);
      return Promise.resolve(new Float32Array(reqs.length).fill(0.4));
    },
  };
  const memo = new Memo(scorer, { image: 7, cls: 11, pFull: 0.5, grid: 3 });
  assertEquals(await memo.ratio(fromIndices([0, 8])), Math.fround(0.4 / 0.5));
  assertEquals(got.length, 1);
  assertEquals(got[0].image, 7);
  assertEquals(got[0].cls, 11);
  assertEquals([...got[0].mask], [1, 0, 0, 0, 0, 0, 0, 0, 1]);
});

Deno.test("memo export/import round-trips and reuses every evaluation", async () => {
  const scorer = fnScorer(2, (s) => (s % 7) / 10);
  const memo = new Memo(scorer, info);
  const r1 = await memo.ratios([9, 2, 15, 0]);
  const data = memo.export();
  assertEquals([...data.keys], [0, 2, 9, 15]);
  const scorer2 = fnScorer(2, () => 0);
  const copy = Memo.from(scorer2, info, data);
  assertEquals(await copy.ratios([9, 2, 15, 0]), r1);
  assertEquals(scorer2.calls, 0);
  assertEquals(copy.evaluations, 0);
  assertEquals(copy.hits, 4);
  const bad = { keys: Float64Array.of(9), ratios: Float32Array.of(0.123) };
  assertThrows(() => copy.import(bad, "memo.npy"), /memo.npy: key 9 has ratio/);
  assertThrows(
    () => copy.import({ keys: Float64Array.of(16), ratios: Float32Array.of(0) }, "m.npy"),
    /m.npy: key 0 \(16\) is not a subset/,
  );
  assertThrows(
    () => copy.import({ keys: Float64Array.of(1), ratios: new Float32Array(0) }),
    /1 keys/,
  );
});

Deno.test("memo errors name the image and let a failed subset be asked again", async () => {
  let fail = true;
  const scorer: Scorer = {
    score(reqs) {
      if (fail) return Promise.reject(new Error("device lost"));
      return Promise.resolve(new Float32Array(reqs.length).fill(0.2));
    },
  };
  const memo = new Memo(scorer, info);
  await assertRejects(() => memo.ratios([1, 2]), /device lost/);
  fail = false;
  assertEquals((await memo.ratios([1, 2]))[0], Math.fround(0.2 / 0.8));
  await assertRejects(() => memo.ratios([16]), /memo\(image 0\): 16 is not a subset/);
  const short: Scorer = { score: () => Promise.resolve(new Float32Array(0)) };
  await assertRejects(() => new Memo(short, info).ratios([1]), /returned 0 scores for 1 masks/);
  const nan: Scorer = { score: (r) => Promise.resolve(new Float32Array(r.length).fill(NaN)) };
  await assertRejects(() => new Memo(nan, info).ratios([3]), /returned NaN for subset 3/);
  assertThrows(() => new Memo(scorer, { ...info, pFull: 0 }), /pFull must be in/);
  assertThrows(() => new Memo(scorer, { ...info, grid: 8 }), /grid must be/);
});

Deno.test("gain memo: r_g = (p − p∅) / (pFull − p∅), the empty set scored with the first call", async () => {
  // p(S) = 0.2 + 0.15·|S| on a 2x2 grid: p∅ = 0.2, pFull = 0.8.
  const scorer = fnScorer(2, (s) => 0.2 + 0.15 * size(s));
  const memo = new Memo(scorer, { ...info, ratio: "gain" });
  const r = await memo.ratios([fromIndices([0]), fromIndices([0, 1, 2])]);
  assertEquals(scorer.batchSizes, [3]); // the empty set rides along
  const r0 = Math.fround(Math.fround(0.2) / 0.8);
  const paper = (p: number) => Math.fround(Math.fround(p) / 0.8);
  assertEquals(r[0], (paper(0.35) - r0) / (1 - r0));
  assertEquals(r[1], (paper(0.65) - r0) / (1 - r0));
  assert(Math.abs(r[0] - 0.25) < 1e-6 && Math.abs(r[1] - 0.75) < 1e-6);
  assertEquals(memo.get(0), 0);
  assertEquals(await memo.emptyRatio(), r0); // the paper's r(∅), whatever the rule
  assertEquals(scorer.calls, 1);
  // Export holds the paper's ratios; a reloaded gain memo gives the same r_g without the model.
  const data = memo.export();
  assertEquals([...data.ratios], [r0, paper(0.35), paper(0.65)]);
  const copy = Memo.from(fnScorer(2, () => 0), { ...info, ratio: "gain" }, data);
  assertEquals(await copy.ratios([fromIndices([0]), fromIndices([0, 1, 2])]), r);
  assertEquals(copy.evaluations, 0);
  // A baseline at least as confident as the image leaves nothing to recover: NaN.
  const flat = new Memo(fnScorer(2, () => 0.8), { ...info, ratio: "gain" });
  assert(Number.isNaN(await flat.ratio(1)));
  assertThrows(() => new Memo(scorer, { ...info, ratio: "odds" as "gain" }), /ratio must be/);
});
