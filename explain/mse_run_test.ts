import { assert, assertAlmostEquals, assertEquals, assertRejects } from "../tests/assert.ts";
import {
  defaults,
  explainImages,
  type ImageInput,
  runMseSearch,
  type RunOptions,
  runSubtreeCount,
  table1Row,
  thresholdKey,
} from "./mse_run.ts";
import { Memo } from "./memo.ts";
import {
  additive,
  andParts,
  Coalescer,
  orParts,
  type ToyModel,
  ToyScorer,
} from "./testing/toy_scorers.ts";
import { Rng } from "../lib/rng.ts";
import { mean } from "./stats.ts";

const rng = new Rng(21);
const models: (ToyModel & { pFull: number })[] = [
  additive(Array.from({ length: 16 }, () => rng.next()), { pFull: 0.7 }),
  andParts([[1, 2], [9]]),
  orParts([[0, 5]], [[10], [15]]),
  additive(Array.from({ length: 16 }, () => rng.next() ** 3), { base: 0.1, pFull: 0.9 }),
];
const images: ImageInput[] = models.map((m, k) => ({ image: 10 + k, cls: k, pFull: m.pFull }));
const byImage = (ms: ToyModel[]) => ms.reduce((a, m, k) => ((a[10 + k] = m), a), [] as ToyModel[]);
const options: RunOptions = {
  ...defaults,
  mse: { ...defaults.mse, grid: 4, beamWidth: 3, candidates: { kind: "all" } },
};

Deno.test("concurrent images share nothing wrongly and the scorer sees batched calls", async () => {
  const inner = new ToyScorer(4, byImage(models), { macrotask: true });
  const { results, memos } = await explainImages(images, new Coalescer(inner), options);
  // Each image alone, on its own scorer: the same answers.
  let aloneCalls = 0;
  for (const [k, im] of images.entries()) {
    const solo = new ToyScorer(4, byImage(models));
    const { results: [r] } = await explainImages([im], solo, options);
    aloneCalls += solo.calls;
    assertEquals(results[k].mses, r.mses, `image ${im.image} mses`);
    assertEquals(results[k].subtree, r.subtree, `image ${im.image} subtree`);
    assertEquals(results[k].image, im.image);
    // Evaluations are what the scorer received for this image, each subset once.
    assertEquals(results[k].totalEvaluations, inner.distinct(im.image));
    assertEquals(memos[k].evaluations, inner.distinct(im.image));
    assertEquals(memos[k].info.image, im.image);
  }
  assertEquals(inner.maxRepeats(), 1);
  assert(results.every((r) => r.count > 0), "every toy image has an MSE");
  console.log(`scorer calls: ${inner.calls} batched vs ${aloneCalls} image by image`);
  assert(inner.calls < aloneCalls / 2, `batched: ${inner.calls} calls vs ${aloneCalls} alone`);
  assert(Math.max(...inner.batchImages) === images.length, "some batch mixes every image");
  // The samples for a figure: the first trees' roots and children, with ratios from the memo.
  const s = results[0].samples[0];
  assertEquals(s.root.patches, results[0].mses[0].patches);
  assertEquals(s.root.ratio, results[0].mses[0].ratio);
  assert(
    s.children.length > 0 &&
      s.children.every((c) => c.patches.length === s.root.patches.length - 1),
  );
});

Deno.test("mse-search and subtree-count run as two stages, reusing every stored evaluation", async () => {
  const together = await explainImages(images, new ToyScorer(4, byImage(models)), options);

  const s1 = new ToyScorer(4, byImage(models));
  const stage1 = await runMseSearch(images, s1, options.mse);
  const stored = stage1.memos.map((m) => m.export());
  // subtree-count on a fresh scorer and memos reloaded from the stored arrays.
  const s2 = new ToyScorer(4, byImage(models));
  const reloaded = images.map((im, k) =>
    Memo.from(s2, { ...im, grid: 4 }, stored[k], `memo ${im.image}`)
  );
  const stage2 = await runSubtreeCount(stage1.results, reloaded, options.subtree, 2);
  for (const [k, im] of images.entries()) {
    assertEquals(stage1.results[k].mses, together.results[k].mses);
    assertEquals(stage2[k].subtree, together.results[k].subtree);
    const before = new Set(stored[k].keys);
    for (const s of s2.seen.get(im.image)?.keys() ?? []) {
      assert(!before.has(s), `image ${im.image}: subset ${s} scored again in stage 2`);
    }
    assertEquals(stage2[k].subtree.evaluations, s2.distinct(im.image));
  }
  await runSubtreeCount(stage1.results, reloaded.slice(1), options.subtree).then(
    () => assert(false, "should fail"),
    (e) => assert(/3 memos for 4 images/.test(e.message)),
  );
  await assertRejects(
    () => runMseSearch([images[0], images[0]], s1, options.mse),
    /images\[1\] repeats image 10/,
  );
});

Deno.test("table1Row gives dataset means with bootstrap intervals per column", () => {
  // Each MSE is a root above every threshold: `roots` fewer proper subsets in every column.
  const sub = (tree: number[], unique: number[], roots: number) => ({
    thresholds: [0.8, 0.7, 0.6, 0.5],
    tree,
    unique,
    proper: { tree: tree.map((x) => x - roots), unique: unique.map((x) => x - roots) },
    treeNodes: 0,
    uniqueNodes: 0,
    evaluations: 0,
    hits: 0,
    levels: 0,
  });
  const per = [
    { count: 2, meanSize: 4, subtree: sub([2, 4, 6, 8], [2, 3, 4, 5], 2) },
    { count: 4, meanSize: 6, subtree: sub([4, 6, 9, 12], [4, 5, 6, 7], 4) },
    { count: 0, meanSize: NaN, subtree: sub([0, 0, 0, 0], [0, 0, 0, 0], 0) },
    { count: 3, meanSize: 5, subtree: sub([3, 5, 7, 9], [3, 4, 5, 6], 3) },
  ];
  const row = table1Row(per, { seed: 3, samples: 500 });
  assertEquals(row.images, 4);
  assertEquals(row.mse_count.mean, 9 / 4);
  assertEquals(row.mse_size.mean, 5); // the image without MSEs has no size
  assertEquals(Object.keys(row.tree), ["sub_ge80", "sub_ge70", "sub_ge60", "sub_ge50"]);
  assertAlmostEquals(row.tree.sub_ge50.mean, mean([8, 12, 0, 9]), 1e-12);
  assertAlmostEquals(row.unique.sub_ge70.mean, mean([3, 5, 0, 4]), 1e-12);
  assertAlmostEquals(row.proper.tree.sub_ge50.mean, mean([6, 8, 0, 6]), 1e-12);
  assertAlmostEquals(row.proper.unique.sub_ge70.mean, mean([1, 1, 0, 1]), 1e-12);
  for (const ci of [row.mse_count, row.mse_size, ...Object.values(row.tree)]) {
    assert(ci.lo <= ci.mean && ci.mean <= ci.hi);
  }
  assertEquals(table1Row(per, { seed: 3, samples: 500 }), row);
  assertEquals(thresholdKey(0.7), "sub_ge70");
});

Deno.test("table1Row leaves images where the baseline suffices out of every mean and counts them", () => {
  const sub = (tree: number[]) => ({
    thresholds: [0.8, 0.5],
    tree,
    unique: tree,
    proper: { tree, unique: tree },
    treeNodes: 0,
    uniqueNodes: 0,
    evaluations: 0,
    hits: 0,
    levels: 0,
  });
  const explained = [
    { count: 2, meanSize: 4, subtree: sub([2, 8]), baselineSuffices: false },
    { count: 4, meanSize: 6, subtree: sub([4, 12]) },
  ];
  const suffices = { count: 0, meanSize: NaN, subtree: sub([0, 0]), baselineSuffices: true };
  const row = table1Row([suffices, ...explained, suffices], { seed: 1, samples: 200 });
  assertEquals(row.images, 2);
  assertEquals(row.baselineSuffices, 2);
  assertEquals(row.mse_count.mean, 3);
  assertEquals(row.mse_size.mean, 5);
  assertEquals(row.tree.sub_ge50.mean, 10);
  // The same means as a table of the explained images alone.
  const alone = table1Row(explained, { seed: 1, samples: 200 });
  assertEquals({ ...row, baselineSuffices: 0 }, alone);
  const none = table1Row([suffices], { seed: 1, samples: 200 });
  assertEquals([none.images, none.baselineSuffices], [0, 1]);
  assert(Number.isNaN(none.mse_count.mean));
});

Deno.test("an image whose baseline suffices costs one evaluation and no trees; gain runs both stages", async () => {
  // Image 20: r(∅) = 0.95. Image 21: r(S) = (1 + w(S)) / 2, so r(∅) = 0.5 and r_g(S) = w(S).
  const suffices = { pFull: 0.8, prob: (s: number) => (s === 0 ? 0.76 : 0.8) };
  const w = [0.42, 0.3, 0.14, 0.07, 0.045, 0.025, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  const half = additive(w, { base: 1, pFull: 0.8 });
  const toys: ToyModel[] = [];
  toys[20] = suffices;
  toys[21] = half;
  const ims: ImageInput[] = [
    { image: 20, cls: 0, pFull: 0.8 },
    { image: 21, cls: 0, pFull: 0.8 },
  ];
  for (const ratio of ["paper", "gain"] as const) {
    const scorer = new ToyScorer(4, toys);
    const mse = { ...options.mse, ratio };
    const stage1 = await runMseSearch(ims, scorer, mse);
    const [a, b] = stage1.results;
    assert(a.baselineSuffices && a.count === 0 && a.evaluations === 1, ratio);
    assertAlmostEquals(a.emptyRatio, 0.95, 1e-6);
    assert(!b.baselineSuffices && b.count > 0, ratio);
    // subtree-count over memos reloaded with the stored rule: nothing to do for image 20.
    const s2 = new ToyScorer(4, toys);
    const reloaded = ims.map((im, k) =>
      Memo.from(s2, { ...im, grid: 4, ratio }, stage1.memos[k].export())
    );
    const trees = await runSubtreeCount(stage1.results, reloaded, options.subtree);
    assertEquals(trees[0].subtree.evaluations, 0);
    assertEquals(trees[0].subtree.tree, [0, 0, 0, 0]);
    assertEquals(s2.distinct(20), 0);
    const together = await explainImages(ims, new ToyScorer(4, toys), { ...options, mse });
    assertEquals(trees[1].subtree, together.results[1].subtree);
    // Paper: r > 0.9 ⇔ w > 0.8; gain: w > 0.9 (no subset sum lies within 0.004 of either).
    const expected = ratio === "paper" ? [[0, 1, 2], [0, 1, 3, 4], [0, 1, 3, 5]] : [
      [0, 1, 2, 3],
      [0, 1, 2, 4],
    ];
    assertEquals(b.mses.map((m) => m.patches).sort(), expected, ratio);
  }
});
