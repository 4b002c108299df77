import { assert, assertEquals } from "../tests/assert.ts";
import { Memo } from "./memo.ts";
import { beamSearch, defaults, minimise, type MseOptions, selectBeam } from "./beam_search.ts";
import { oracleMses } from "./testing/oracle.ts";
import {
  additive,
  andParts,
  fnScorer,
  orParts,
  randomMonotone,
  randomTable,
  type ToyModel,
  ToyScorer,
} from "./testing/toy_scorers.ts";
import { fromIndices, size } from "./patchset.ts";
import { Rng } from "../lib/rng.ts";

/** Wide enough to hold every state of a 3x3 grid: the beam is then exhaustive. */
const wide: MseOptions = {
  ...defaults,
  grid: 3,
  beamWidth: 512,
  maxMses: 1000,
  candidates: { kind: "all" },
};

function setup(model: ToyModel & { pFull: number }, grid = 3) {
  const scorer = new ToyScorer(grid, [model]);
  const memo = new Memo(scorer, { image: 0, cls: 0, pFull: model.pFull, grid });
  return { scorer, memo };
}

const sorted = (xs: { subset: number }[]) => xs.map((m) => m.subset).sort((a, b) => a - b);

Deno.test("a wide beam finds exactly the oracle's MSEs on additive, AND, OR and random monotone models", async () => {
  const rng = new Rng(11);
  const models = [
    additive(Array.from({ length: 9 }, () => rng.next()), { base: 0.2, pFull: 0.7 }),
    andParts([[0, 1], [8]]),
    orParts([[0, 1, 2]], [[4], [7]]),
    orParts([[3]], [[3, 5]]), // b contains a: one MSE
    ...Array.from({ length: 20 }, () => randomMonotone(9, () => rng.next())),
  ];
  let total = 0, suffices = 0;
  for (const [k, model] of models.entries()) {
    const { scorer, memo } = setup(model);
    const res = await beamSearch(memo, wide);
    // Evaluations are what the toy scorer counted, each subset once.
    assertEquals(res.evaluations, scorer.distinct(), `model ${k} evaluations`);
    assertEquals(scorer.masks, scorer.distinct(), `model ${k} repeats`);
    assertEquals(res.evaluations + res.hits, memo.requests);
    const oracle = await oracleMses(memo, { ph: wide.ph, minimality: "all-subsets" });
    if (res.baselineSuffices) {
      // The oracle's only MSE is then the empty set; the search reports the flag instead.
      assertEquals(sorted(oracle), [0], `model ${k}`);
      assertEquals(res.mses, []);
      suffices++;
      continue;
    }
    assertEquals(sorted(res.mses), sorted(oracle), `model ${k}`);
    for (const m of res.mses) assert(m.ratio > wide.ph && m.ratio === memo.get(m.subset));
    total += res.count;
  }
  assert(total > models.length, "the random models have MSEs to find");
  assert(suffices > 0 && suffices < 5, `${suffices} random models whose baseline suffices`);
});

Deno.test("on non-monotone models the beam finds every strict MSE and only one-removal-minimal sets", async () => {
  const rng = new Rng(5);
  let strictTotal = 0, beamTotal = 0;
  for (let t = 0; t < 20; t++) {
    // Mostly low probabilities so that sets above Ph are rare.
    const table = randomTable(9, () => rng.next() ** 6);
    const { memo } = setup(table);
    const res = await beamSearch(memo, { ...wide, ph: 0.5 });
    const strict = sorted(await oracleMses(memo, { ph: 0.5, minimality: "all-subsets" }));
    if (res.baselineSuffices) {
      assertEquals(strict, [0], `trial ${t}`);
      assertEquals(res.mses, []);
      continue;
    }
    const local = new Set(sorted(await oracleMses(memo, { ph: 0.5, minimality: "one-removal" })));
    const found = new Set(sorted(res.mses));
    for (const s of strict) assert(found.has(s), `trial ${t}: strict MSE ${s} missed`);
    for (const s of found) assert(local.has(s), `trial ${t}: ${s} is not one-removal minimal`);
    strictTotal += strict.length;
    beamTotal += found.size;
  }
  assert(strictTotal > 0 && beamTotal >= strictTotal);
});

Deno.test("minimise visits patches row-major and repeats passes until nothing changes", async () => {
  // Above Ph iff S ⊇ {1,2} or S ⊇ {0,3}. From {0,1,2,3}: pass 1 hides 0 ({1,2,3} is above),
  // keeps 1 and 2 ({2,3}, {1,3} are below), hides 3 ({1,2} above); pass 2 hides nothing.
  // Probes: 4 in pass 1, 2 in pass 2.
  const a = fromIndices([1, 2]), b = fromIndices([0, 3]);
  const scorer = fnScorer(2, (s) => ((s & a) === a || (s & b) === b ? 0.95 : 0.2));
  const memo = new Memo(scorer, { image: 0, cls: 0, pFull: 1, grid: 2 });
  const m = await minimise(memo, 15, 0.95, 0.9);
  assertEquals(m.subset, a);
  assertEquals(m.probes, 6);
  assertEquals(scorer.calls, 6); // each probe depends on the previous answer
});

Deno.test("each level is one memo call and the beam keeps beamWidth distinct states", async () => {
  // r = w(S): the best pair {0,1} is a successor of both {0} and {1}. With beamWidth 2 and
  // distinct states the level-2 beam is {0,1}, {0,2}; their 7 + 7 successors share {0,1,2}: 13.
  // (Keeping the duplicate {0,1} twice would give only 7.) No set of 3 reaches Ph = 0.9.
  const w = [0.3, 0.2, 0.1, 0.08, 0.07, 0.07, 0.06, 0.06, 0.06];
  const { scorer, memo } = setup(additive(w, { pFull: 0.9 }));
  const res = await beamSearch(memo, { ...wide, beamWidth: 2, maxMses: 10 });
  // The empty set first (does the baseline alone suffice?), then one call per level.
  assertEquals(scorer.batchSizes.slice(0, 4), [1, 9, 15, 13]);
  assertEquals(res.evaluations, scorer.distinct());
  assert(res.count >= 1);
  for (const m of res.mses) assert(m.ratio > 0.9);
});

Deno.test("stops after a level that records more than maxMses, keeping the overshoot", async () => {
  // Every pair (and superset) is above Ph, singles are below: MSEs are the pairs. Level 1 keeps
  // singles {0}..{4} (equal r, generation order); level 2 then meets the 36 - C(4,2) = 30 pairs
  // with a patch in 0..4, records all 30 > maxMses = 3, and stops.
  const scorer = fnScorer(3, (s) => (size(s) >= 2 ? 0.95 : 0.1));
  const memo = new Memo(scorer, { image: 0, cls: 0, pFull: 0.95, grid: 3 });
  const res = await beamSearch(memo, { ...wide, beamWidth: 5, maxMses: 3 });
  assertEquals(res.count, 30);
  assertEquals(res.levels, 2);
  assertEquals(res.meanSize, 2);
  for (const m of res.mses) assert(m.patches.some((i) => i < 5));
});

Deno.test("stops when the beam empties or the grid is full", async () => {
  // Nothing is ever above Ph: the search runs all 9 levels and finds nothing.
  const scorer = fnScorer(3, () => 0.1);
  const memo = new Memo(scorer, { image: 0, cls: 0, pFull: 0.5, grid: 3 });
  const res = await beamSearch(memo, { ...wide, beamWidth: 3 });
  assertEquals(res.levels, 9);
  assertEquals(res.count, 0);
  assert(Number.isNaN(res.meanSize));
  // Every single patch is above Ph: level 1 records all 9 and leaves an empty beam.
  const s2 = fnScorer(3, (s) => (s ? 0.95 : 0.1));
  const m2 = new Memo(s2, { image: 0, cls: 0, pFull: 0.95, grid: 3 });
  const r2 = await beamSearch(m2, { ...wide, beamWidth: 3 });
  assertEquals(r2.levels, 1);
  assertEquals(r2.count, 9);
});

Deno.test("igos-topq tries the q lowest-mask unrevealed patches, and says when it falls back", async () => {
  const mask = Float32Array.from([0.9, 0.1, 0.5, 0.2, 0.8, 0.05, 0.7, 0.3, 0.6]);
  const scorer = fnScorer(3, () => 0.1);
  const memo = new Memo(scorer, { image: 0, cls: 0, pFull: 0.5, grid: 3 });
  const opts: MseOptions = { ...wide, beamWidth: 1, candidates: { kind: "igos-topq", q: 3, mask } };
  const res = await beamSearch(memo, opts);
  assertEquals(res.notes, []);
  // After the empty set, level 1 tries patches 5, 1, 3 (lowest values); all tie, so the beam
  // keeps {5}; level 2 tries the three lowest not yet revealed: 1, 3, 7.
  const first = [...scorer.seen.get(0)!.keys()];
  assertEquals(first[0], 0);
  assertEquals(first.slice(1, 4), [[5], [1], [3]].map(fromIndices));
  assertEquals(first.slice(4, 7), [[1, 5], [3, 5], [5, 7]].map(fromIndices));
  assertEquals(scorer.batchSizes.every((n) => n <= 3), true);

  const s2 = fnScorer(3, () => 0.1);
  const m2 = new Memo(s2, { image: 0, cls: 0, pFull: 0.5, grid: 3 });
  const r2 = await beamSearch(m2, { ...opts, candidates: { kind: "igos-topq", q: 3 } });
  assertEquals(r2.notes.length, 1);
  assert(/no I-GOS mask/.test(r2.notes[0]));
  assertEquals(s2.batchSizes[1], 9); // fell back to all
});

Deno.test("beam options are validated with the key at fault", async () => {
  const memo = new Memo(fnScorer(3, () => 0.1), { image: 0, cls: 0, pFull: 0.5, grid: 3 });
  const bad = (o: Partial<MseOptions>) => beamSearch(memo, { ...wide, ...o });
  for (
    const [o, re] of [
      [{ beamWidth: 0 }, /beamWidth/],
      [{ ph: 1 }, /ph must be/],
      [{ grid: 7 }, /options.grid is 7 but the memo/],
      [{ candidates: { kind: "igos-topq", q: 3, mask: new Float32Array(4) } }, /4 values/],
      [{ ratio: "gain" }, /options.ratio is gain but the memo of image 0 uses paper/],
      [{ ratio: "odds" }, /ratio must be "paper" or "gain"/],
    ] as const
  ) {
    let err: Error | undefined;
    try {
      await bad(o as Partial<MseOptions>);
    } catch (e) {
      err = e as Error;
    }
    assert(err && re.test(err.message), `${JSON.stringify(o)}: ${err?.message}`);
  }
});

Deno.test("a baseline that alone reaches Ph stops the search at once: flagged, no MSEs", async () => {
  // r(∅) = 0.93 / 1 > 0.9: every search would end in the empty MSE.
  const scorer = fnScorer(3, (s) => (s === 0 ? 0.93 : 0.97));
  const memo = new Memo(scorer, { image: 0, cls: 0, pFull: 1, grid: 3 });
  const res = await beamSearch(memo, wide);
  assert(res.baselineSuffices);
  assertEquals(res.emptyRatio, Math.fround(0.93));
  assertEquals(res.mses, []);
  assertEquals(res.count, 0);
  assertEquals(res.levels, 0);
  assertEquals(res.evaluations, 1); // the empty set only
  assertEquals(scorer.batchSizes, [1]);
  // Under the gain rule too: the paper's r(∅) decides.
  const gm = new Memo(fnScorer(3, (s) => (s === 0 ? 0.93 : 0.97)), {
    image: 0,
    cls: 0,
    pFull: 1,
    grid: 3,
    ratio: "gain",
  });
  const g = await beamSearch(gm, { ...wide, ratio: "gain" });
  assert(g.baselineSuffices && g.count === 0 && g.evaluations === 1);
  // r(∅) exactly at Ph is not above it: the search runs (sufficiency is r > Ph).
  const at = new Memo(fnScorer(3, (s) => (s === 0 ? 0.5 : 1)), {
    image: 0,
    cls: 0,
    pFull: 1,
    grid: 3,
  });
  const r = await beamSearch(at, { ...wide, ph: 0.5 });
  assert(!r.baselineSuffices);
  assertEquals(r.emptyRatio, 0.5);
  assertEquals(r.count, 9); // every single patch
});

Deno.test("the gain ratio asks an MSE to recover Ph of what the baseline lacks", async () => {
  // r(S) = (1 + w(S)) / 2, so r(∅) = 0.5 and r_g(S) = w(S). Paper (r > 0.9 ⇔ w > 0.8):
  // {0,1,2} (0.91) and {0,1,3} (0.84). Gain (w > 0.9): {0,1,2} only.
  const model = additive([0.42, 0.33, 0.16, 0.09], { base: 1, pFull: 0.8 });
  const opts: MseOptions = { ...wide, grid: 2 };
  const paper = await beamSearch(
    new Memo(new ToyScorer(2, [model]), { image: 0, cls: 0, pFull: 0.8, grid: 2 }),
    opts,
  );
  assertEquals(sorted(paper.mses), [fromIndices([0, 1, 2]), fromIndices([0, 1, 3])]);
  const gainMemo = new Memo(new ToyScorer(2, [model]), {
    image: 0,
    cls: 0,
    pFull: 0.8,
    grid: 2,
    ratio: "gain",
  });
  const gain = await beamSearch(gainMemo, { ...opts, ratio: "gain" });
  assertEquals(sorted(gain.mses), [fromIndices([0, 1, 2])]);
  assert(Math.abs(gain.mses[0].ratio - 0.91) < 1e-6, `r_g ${gain.mses[0].ratio}`);
  assert(Math.abs(gain.emptyRatio - 0.5) < 1e-6);
  assert(!gain.baselineSuffices);
});

Deno.test("gain at Ph finds the paper's MSEs at Ph + (1 − Ph)·r(∅) (same order, moved threshold)", async () => {
  const rng = new Rng(17);
  let compared = 0;
  for (let t = 0; t < 30; t++) {
    const model = randomMonotone(9, () => rng.next());
    const gm = new Memo(new ToyScorer(3, [model]), {
      image: 0,
      cls: 0,
      pFull: model.pFull,
      grid: 3,
      ratio: "gain",
    });
    const gain = await beamSearch(gm, { ...wide, beamWidth: 3, ratio: "gain" });
    if (gain.baselineSuffices) continue;
    const pm = new Memo(new ToyScorer(3, [model]), {
      image: 0,
      cls: 0,
      pFull: model.pFull,
      grid: 3,
    });
    const ph = wide.ph + (1 - wide.ph) * gain.emptyRatio;
    const paper = await beamSearch(pm, { ...wide, beamWidth: 3, ph });
    assertEquals(sorted(gain.mses), sorted(paper.mses), `model ${t}`);
    compared++;
  }
  assert(compared >= 20, `${compared} models compared`);
});

Deno.test("selectBeam: distinct keeps width distinct states, reference width + 1 with repeats", () => {
  const [a, b, c, d] = [1, 2, 4, 8];
  const r = new Map([[a, 0.5], [b, 0.4], [c, 0.6], [d, 0.95]]);
  const ratioOf = (s: number) => r.get(s)!;
  // Generated a, b, a (again, from another state), c, d; d is above Ph and never kept.
  const successors = [a, b, a, c, d];
  assertEquals(selectBeam(successors, ratioOf, 0.9, 2, "distinct"), [c, a]);
  assertEquals(selectBeam(successors, ratioOf, 0.9, 2), [c, a]);
  assertEquals(selectBeam(successors, ratioOf, 0.9, 2, "reference"), [c, a, a]);
  assertEquals(selectBeam(successors, ratioOf, 0.9, 3, "distinct"), [c, a, b]);
  assertEquals(selectBeam(successors, ratioOf, 0.9, 3, "reference"), [c, a, a, b]);
  // Equal r keeps generation order under both rules.
  const tie = () => 0.5;
  assertEquals(selectBeam([b, a, b], tie, 0.9, 1, "distinct"), [b]);
  assertEquals(selectBeam([b, a, b], tie, 0.9, 1, "reference"), [b, a]);
  assertEquals(selectBeam([b, b, a], tie, 0.9, 1, "reference"), [b, b]);
});

Deno.test("beam reference: the level after the first expands width + 1 states, and repeats cost scorings only without the memo", async () => {
  // Additive, weights falling with the index: level 1 ranks {0}, {1}, {2}, ...; no set of fewer
  // than five patches reaches Ph, so levels 1-3 record nothing.
  const w = [0.3, 0.2, 0.15, 0.1, 0.08, 0.07, 0.05, 0.03, 0.02];
  const run = async (beam: "distinct" | "reference") => {
    const scorer = new ToyScorer(3, [additive(w, { pFull: 0.8 })]);
    const memo = new Memo(scorer, { image: 0, cls: 0, pFull: 0.8, grid: 3 });
    const res = await beamSearch(memo, { ...wide, beamWidth: 2, maxMses: 10, beam });
    const seen = [...scorer.seen.get(0)!.keys()];
    return { res, scorer, pairs: seen.filter((s) => size(s) === 2) };
  };
  const d = await run("distinct"), r = await run("reference");
  // Level 2 expands {0}, {1} (distinct: 8 + 7 new pairs) or {0}, {1}, {2} (reference: + 6).
  assertEquals(d.pairs.length, 15);
  assertEquals(r.pairs.length, 21);
  assert(r.pairs.includes(fromIndices([2, 3])) && !d.pairs.includes(fromIndices([2, 3])));
  // Level 2's best pair {0,1} comes from both {0} and {1}: the reference keeps it twice, so level 3
  // generates its successors twice (7 more unshared successors than distinct at that level), yet
  // the memo sends each subset to the model once.
  assertEquals(r.scorer.masks, r.scorer.distinct());
  assertEquals(d.scorer.masks, d.scorer.distinct());
  assert(r.res.unsharedEvaluations > d.res.unsharedEvaluations);
  // Both find sufficient, minimal sets; the rules differ in which.
  for (const x of [d.res, r.res]) {
    assert(x.count > 0);
    for (const m of x.mses) assert(m.ratio > 0.9);
  }
});

Deno.test("beam left out is distinct: identical results on random models", async () => {
  const rng = new Rng(23);
  for (let t = 0; t < 10; t++) {
    const model = randomMonotone(9, () => rng.next());
    const memo = () =>
      new Memo(new ToyScorer(3, [model]), { image: 0, cls: 0, pFull: model.pFull, grid: 3 });
    const { beam: _, ...noBeam } = { ...wide, beamWidth: 2 };
    const a = await beamSearch(memo(), noBeam);
    const b = await beamSearch(memo(), { ...wide, beamWidth: 2, beam: "distinct" });
    assertEquals(a, b, `model ${t}`);
  }
});

Deno.test("beam: an unknown rule is refused, naming the key", async () => {
  const { memo } = setup(additive([1, 1, 1, 1, 1, 1, 1, 1, 1]));
  let err: Error | undefined;
  try {
    await beamSearch(memo, { ...wide, beam: "wide" as "distinct" });
  } catch (e) {
    err = e as Error;
  }
  assert(err instanceof RangeError && /beam must be "distinct" or "reference"/.test(err.message));
});
