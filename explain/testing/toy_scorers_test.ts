import { assert, assertAlmostEquals, assertEquals, assertRejects } from "../../tests/assert.ts";
import {
  additive,
  andParts,
  Coalescer,
  fnScorer,
  orParts,
  randomMonotone,
  ToyScorer,
} from "./toy_scorers.ts";
import { fromIndices, toMask } from "../patchset.ts";
import { Rng } from "../../lib/rng.ts";

const req = (image: number, patches: number[], grid = 3) => ({
  image,
  cls: 0,
  mask: toMask(fromIndices(patches), grid),
});

Deno.test("toy models give their defining probabilities", () => {
  const a = additive([1, 2, 3, 4], { base: 10, pFull: 0.6 });
  assertAlmostEquals(a.prob(fromIndices([0, 1, 2, 3])), 0.6, 1e-12);
  assertAlmostEquals(a.ratio(fromIndices([1, 3])), (10 + 2 + 4) / 20, 1e-12);
  assertAlmostEquals(a.ratio(0), 0.5, 1e-12);
  const and = andParts([[0, 1], [4]]);
  assertEquals(and.prob(fromIndices([0, 1, 4, 7])), 0.9);
  assertEquals(and.prob(fromIndices([0, 1])), 0.05);
  const or = orParts([[0, 1]], [[5], [6]], { high: 0.7, low: 0.1 });
  assertEquals(or.prob(fromIndices([0, 1])), 0.7);
  assertEquals(or.prob(fromIndices([5, 6, 8])), 0.7);
  assertEquals(or.prob(fromIndices([0, 5])), 0.1);
  const rng = new Rng(5);
  const m = randomMonotone(4, () => rng.next());
  for (let s = 0; s < 16; s++) {
    for (let i = 0; i < 4; i++) assert(m.prob(s | (1 << i)) >= m.prob(s), "monotone");
  }
});

Deno.test("ToyScorer decodes masks per image and counts what it receives", async () => {
  const scorer = new ToyScorer(3, [andParts([[0]]), orParts([[1]], [[2]])]);
  const p = await scorer.score([req(0, [0]), req(1, [2]), req(1, [2]), req(0, [1])]);
  assertEquals([...p], [0.9, 0.9, 0.9, 0.05].map(Math.fround));
  assertEquals(scorer.calls, 1);
  assertEquals(scorer.masks, 4);
  assertEquals(scorer.distinct(), 3);
  assertEquals(scorer.distinct(1), 1);
  assertEquals(scorer.maxRepeats(), 2);
  assertEquals(scorer.batchImages, [2]);
  await assertRejects(() => scorer.score([req(2, [0])]), /no toy model for image 2/);
  await assertRejects(() => scorer.score([req(0, [0], 2)]), /4 cells, expected 3x3/);
  const bad = { image: 0, cls: 0, mask: new Float32Array(9).fill(0.5) };
  await assertRejects(() => scorer.score([bad]), /cell 0 is 0.5/);
  await assertRejects(() => fnScorer(3, () => 2).score([req(0, [])]), /probability 2/);
});

Deno.test("Coalescer merges concurrent calls into one and splits the answers back", async () => {
  const inner = fnScorer(3, (s, image) => (s + image) / 1000);
  const c = new Coalescer(inner);
  const [a, b, d] = await Promise.all([
    c.score([req(0, [0]), req(0, [1])]),
    c.score([req(1, [0])]),
    c.score([req(2, [2]), req(2, [0, 1])]),
  ]);
  assertEquals(inner.calls, 1);
  assertEquals(inner.batchSizes, [5]);
  assertEquals(c.calls, 3);
  assertEquals([...a], [1 / 1000, 2 / 1000].map(Math.fround));
  assertEquals([...b], [Math.fround(2 / 1000)]);
  assertEquals([...d], [6 / 1000, 5 / 1000].map(Math.fround));
  await c.score([req(0, [])]);
  assertEquals(inner.calls, 2);
});
