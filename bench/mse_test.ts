import { assert, assertEquals } from "../tests/assert.ts";
import { countEvaluations, referenceTreeNodes, toyImages } from "./mse.ts";
import { defaults, explainImages, type RunOptions } from "../explain/mse_run.ts";
import { additive, ToyScorer } from "../explain/testing/toy_scorers.ts";
import { Rng } from "../lib/rng.ts";
import { fromIndices } from "../explain/patchset.ts";

const rng = new Rng(4);
const models = Array.from(
  { length: 3 },
  () => additive(Array.from({ length: 16 }, () => rng.next() ** 2), { pFull: 0.8 }),
);
const images = models.map((m, k) => ({ image: k, cls: 0, pFull: m.pFull }));
const o: RunOptions = {
  ...defaults,
  mse: { ...defaults.mse, grid: 4, candidates: { kind: "all" } },
};

Deno.test("countEvaluations counts what the scorer received and what the reference would", async () => {
  const scorer = new ToyScorer(4, models);
  const res = await countEvaluations(scorer, images, o);
  // With the memo: exactly the distinct subsets the toy scorer received, per image.
  assertEquals(res.perImage.map((p) => p.withMemo), images.map((im) => scorer.distinct(im.image)));
  assertEquals(scorer.maxRepeats(), 1);
  // Without sharing: the same searches' successors and probes plus every tree node, which the
  // explicit tree build and the path-counting DAG agree on.
  const again = await explainImages(images, new ToyScorer(4, models), o);
  again.results.forEach((r, k) => {
    assertEquals(res.perImage[k].treeNodes, r.subtree.treeNodes);
    assertEquals(res.perImage[k].beamUnshared, r.unsharedEvaluations);
  });
  assert(res.withoutSharing > res.withMemo && !res.capped);
  assert(res.minRatio <= res.medianRatio);
});

Deno.test("referenceTreeNodes stops at its cap and says so", async () => {
  const { images: ims, scorer } = toyImages(1, 3);
  const { results, memos } = await explainImages(ims, scorer, defaults);
  const roots = results[0].mses.map((m) => fromIndices(m.patches));
  const full = referenceTreeNodes(memos[0], roots, defaults.subtree);
  assertEquals(full.nodes, results[0].subtree.treeNodes);
  const capped = referenceTreeNodes(memos[0], roots, defaults.subtree, 3);
  assertEquals(capped, { nodes: 3, capped: true });
});
