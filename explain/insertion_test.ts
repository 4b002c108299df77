import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../tests/assert.ts";
import {
  cellOrder,
  insertionCurves,
  normaliseScore,
  stepCounts,
  stepMask,
  trapezoidAuc,
} from "./insertion.ts";
import { Rng } from "../lib/rng.ts";
import type { Scorer, ScoreRequest } from "./scorer.ts";
import { ComposingScorer, regionModel } from "./testing/toy_models.ts";

/** p = Σ_i mask_i · v_i: each cell adds a known amount. */
class LinearScorer implements Scorer {
  calls = 0;
  sizes: number[] = [];
  constructor(readonly v: number[]) {}
  score(requests: readonly ScoreRequest[]): Promise<Float32Array> {
    this.calls++;
    this.sizes.push(requests.length);
    return Promise.resolve(
      Float32Array.from(requests, (r) => r.mask.reduce((s, m, i) => s + m * this.v[i], 0)),
    );
  }
}

Deno.test("cell order: most salient first, ties by index", () => {
  assertEquals(Array.from(cellOrder([0.1, 0.9, 0.5, 0.9, 0.1])), [1, 3, 2, 0, 4]);
  assertEquals(stepCounts(784, 16).length, 50);
  assertEquals(stepCounts(4, 3), [0, 3, 4]);
  assertEquals(Array.from(stepMask(Int32Array.from([2, 0, 1]), 2, 1)), [1, 0, 1]);
  assertEquals(Array.from(stepMask(Int32Array.from([2, 0, 1]), 2, 0)), [0, 1, 0]);
});

Deno.test("hand-computed AUCs on a 2x2 heatmap", async () => {
  // Order [1, 2, 3, 0]; insertion p = 0, .4, .6, .9, 1 → AUC ¼(.2 + .5 + .75 + .95) = 0.6;
  // deletion p = 1, .6, .4, .1, 0 → ¼(.8 + .5 + .25 + .05) = 0.4.
  const scorer = new LinearScorer([0.1, 0.4, 0.2, 0.3]);
  const [c] = await insertionCurves(
    [{ image: 0, cls: 0, heatmap: Float32Array.from([0.1, 0.9, 0.5, 0.3]) }],
    scorer,
    { cellsPerStep: 1 },
  );
  assertEquals(Array.from(c.fractions), [0, 0.25, 0.5, 0.75, 1]);
  assertAlmostEquals(c.insertionAuc, 0.6, 1e-6);
  assertAlmostEquals(c.deletionAuc!, 0.4, 1e-6);
  assertAlmostEquals(trapezoidAuc([0, 1]), 0.5, 1e-12);
  // Uneven last step: points at 0, 3/4, 1.
  const [u] = await insertionCurves(
    [{ image: 0, cls: 0, heatmap: Float32Array.from([0.1, 0.9, 0.5, 0.3]) }],
    scorer,
    { cellsPerStep: 3, deletion: false },
  );
  assertEquals(Array.from(u.fractions), [0, 0.75, 1]);
  assertAlmostEquals(u.insertionAuc, 0.75 * 0.45 + 0.25 * 0.95, 1e-6);
  assertEquals(u.deletion, undefined);
});

Deno.test("all points of all images go to the scorer in one call", async () => {
  const scorer = new LinearScorer(new Array(784).fill(1 / 784));
  const r = new Rng(1);
  const requests = Array.from({ length: 3 }, (_, i) => ({
    image: i,
    cls: 0,
    heatmap: Float32Array.from({ length: 784 }, () => r.next()),
  }));
  const curves = await insertionCurves(requests, scorer);
  assertEquals(scorer.calls, 1);
  assertEquals(scorer.sizes, [3 * 100]);
  for (const c of curves) {
    assertEquals(c.insertion.length, 50);
    assertAlmostEquals(c.insertion[0], 0, 1e-6);
    assertAlmostEquals(c.insertion[49], 1, 1e-5);
    assertAlmostEquals(c.deletion![0], 1, 1e-5);
    assertAlmostEquals(c.insertionAuc, 0.5, 1e-5); // uniform cells: a straight line
  }
});

Deno.test("a perfect heatmap beats random ones on a toy model", async () => {
  const shape = [3, 16, 16] as const;
  const region = { y0: 4, y1: 10, x0: 8, x1: 14 };
  const model = regionModel(shape, region, 9.2 / 108, -4.6);
  const image = new Float32Array(768).fill(1);
  const scorer = new ComposingScorer(model, [image], [new Float32Array(768)]);
  const g = 8;
  // Perfect: cells whose centre pixel (15i/7) falls in the region.
  const perfect = new Float32Array(g * g);
  for (let y = 0; y < g; y++) {
    for (let x = 0; x < g; x++) {
      const py = (15 * y) / 7, px = (15 * x) / 7;
      const d = Math.max(
        region.y0 - py,
        py - (region.y1 - 1),
        region.x0 - px,
        px - (region.x1 - 1),
        0,
      );
      perfect[y * g + x] = 1 / (1 + d);
    }
  }
  const r = new Rng(4);
  const randoms = Array.from(
    { length: 5 },
    () => Float32Array.from({ length: g * g }, () => r.next()),
  );
  const curves = await insertionCurves(
    [perfect, ...randoms].map((heatmap) => ({ image: 0, cls: 0, heatmap })),
    scorer,
    { cellsPerStep: 4 },
  );
  const [best, ...rest] = curves;
  for (const c of rest) {
    assert(
      best.insertionAuc > c.insertionAuc,
      `insertion ${best.insertionAuc} vs ${c.insertionAuc}`,
    );
    assert(best.deletionAuc! < c.deletionAuc!, `deletion ${best.deletionAuc} vs ${c.deletionAuc}`);
  }
  assertEquals(scorer.calls, 1);
});

Deno.test("normalisation and errors", () => {
  assertAlmostEquals(normaliseScore(0.5, 0.8, 0.2), 0.5, 1e-12);
  assertThrows(() => normaliseScore(0.5, 0.3, 0.3, "model m"), /model m/);
  assertThrows(() => trapezoidAuc([1]), /at least 2/);
});

Deno.test("a non-square heatmap is rejected with its index", async () => {
  let msg = "";
  try {
    await insertionCurves(
      [{ image: 0, cls: 0, heatmap: new Float32Array(4) }, {
        image: 0,
        cls: 0,
        heatmap: new Float32Array(5),
      }],
      new LinearScorer([]),
    );
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(/requests\[1\]/.test(msg), msg);
});
