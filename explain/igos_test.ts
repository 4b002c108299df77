import { assert, assertAlmostEquals, assertEquals, assertNotEquals } from "../tests/assert.ts";
import {
  igos7,
  igosBatch,
  type IgosItem,
  igosObjective,
  type IgosOptions,
  resolveOptions,
} from "./igos.ts";
import { Rng } from "../lib/rng.ts";
import { regionModel, TanhMlpModel } from "./testing/toy_models.ts";
import { bilateralWeights, weightedTv } from "./tv.ts";
import { Upsampler } from "./upsample.ts";

const SHAPE = [3, 16, 16] as const;
const REGION = { y0: 2, y1: 8, x0: 2, x1: 8 };

/** Class-0 evidence only in REGION; p(I) ≈ 0.99, p(B) ≈ 0.01. */
function regionToy(seed = 1): { model: ReturnType<typeof regionModel>; item: IgosItem } {
  const [c, h, w] = SHAPE;
  const n = (REGION.y1 - REGION.y0) * (REGION.x1 - REGION.x0) * c;
  const model = regionModel(SHAPE, REGION, 9.2 / n, -4.6);
  const r = new Rng(seed);
  const image = Float32Array.from({ length: c * h * w }, () => 0.8 + 0.4 * r.next());
  return { model, item: { image, baseline: new Float32Array(c * h * w), cls: 0 } };
}

/**
 * An 8x8 mask: L1 and TV are means over cells, so their per-cell pull is (28/8)² times the paper
 * preset's at 28x28; l1 and l2 are scaled down by that factor to keep the paper's balance.
 */
const small: Partial<IgosOptions> = {
  maskSize: 8,
  iterations: 10,
  steps: 10,
  l1: (10 * 64) / 784,
  l2: (20 * 64) / 784,
};

function topCells(heat: Float32Array, k: number): number[] {
  return Array.from(heat.keys()).sort((a, b) => heat[b] - heat[a] || a - b).slice(0, k);
}

Deno.test("iGOS++ finds the region that carries the class evidence", async () => {
  const { model, item } = regionToy();
  const res = await igosBatch([item], model, small);
  const heat = res.heatmaps[0];
  assertEquals(heat.length, 64);
  // Region pixels 2..7 of 16 sit under cells 0.93..3.27 of the 8x8 grid (cell i at pixel 15i/7),
  // so bilinear support reaches cells 0..4.
  const inside = (cell: number) => Math.floor(cell / 8) <= 4 && cell % 8 <= 4;
  for (const cell of topCells(heat, 12)) {
    assert(inside(cell), `top cell ${cell} is outside the region`);
  }
  let sumIn = 0, sumOut = 0;
  heat.forEach((v, cell) => inside(cell) ? (sumIn += v) : (sumOut += v));
  assert(sumIn / 25 > 0.7, `mean saliency inside ${sumIn / 25}`);
  assert(sumOut / 39 < 0.15, `mean saliency outside ${sumOut / 39}`);
  assert(heat[63] < 0.05, `corner saliency ${heat[63]} is not low`);
  assertEquals(res.counters.images, 1);
  assert(res.counters.gradientEvaluations === 10 * 4 * 10, "4 paths of N rows per iteration");
  assert(res.counters.forwardEvaluations >= 10 * 2 * 4 * 10, "base + at least one trial");
  assert(res.counters.seconds > 0);
});

Deno.test("fixed seed gives byte-identical heatmaps, another seed differs", async () => {
  const { model, item } = regionToy();
  const opts = { ...small, iterations: 3, seed: 7 };
  const a = await igosBatch([item], model, opts);
  const b = await igosBatch([item], model, opts);
  const c = await igosBatch([item], model, { ...opts, seed: 8 });
  assertEquals(new Uint8Array(a.heatmaps[0].buffer), new Uint8Array(b.heatmaps[0].buffer));
  assertNotEquals(Array.from(a.heatmaps[0]), Array.from(c.heatmaps[0]));
  const e1 = await igosBatch([item], model, { ...opts, noiseMode: "exact" });
  const e2 = await igosBatch([item], model, { ...opts, noiseMode: "exact" });
  assertEquals(Array.from(e1.heatmaps[0]), Array.from(e2.heatmaps[0]));
});

Deno.test("a heatmap does not depend on the other images in its batch", async () => {
  const { model, item } = regionToy(1);
  const other = regionToy(2).item;
  const opts = { ...small, iterations: 3, maxRowsPerCall: 30 };
  const alone = await igosBatch([{ ...item, id: "a" }], model, opts);
  const together = await igosBatch([{ ...other, id: "b" }, { ...item, id: "a" }], model, opts);
  assertEquals(Array.from(together.heatmaps[1]), Array.from(alone.heatmaps[0]));
  // Both images' paths share each model call: 2 images x 4 terms x 10 rows in 30-row calls.
  assert(together.counters.modelCalls < 2 * alone.counters.modelCalls);
});

function mlpToy(): { model: TanhMlpModel; item: IgosItem } {
  const shape = [2, 6, 6] as const;
  const size = 72;
  const r = new Rng(11);
  const w1 = Array.from(
    { length: 4 },
    () => Float32Array.from({ length: size }, () => r.normal() * 0.3),
  );
  const w2 = Array.from({ length: 3 }, () => Float64Array.from({ length: 4 }, () => r.normal()));
  const model = new TanhMlpModel(shape, w1, new Float64Array(4), w2, new Float64Array(3));
  const image = Float32Array.from({ length: size }, () => r.normal());
  const baseline = Float32Array.from({ length: size }, () => 0.3 * r.normal());
  return { model, item: { image, baseline, cls: 1 } };
}

Deno.test("mask gradients agree with finite differences of the surrogate objective", async () => {
  const { model, item } = mlpToy();
  const r = new Rng(5);
  for (const method of ["igos++", "igos"] as const) {
    const opts: Partial<IgosOptions> = { maskSize: 3, steps: 4, noise: 0, l1: 0.7, l2: 1.3 };
    const nm = method === "igos++" ? 2 : 1;
    const masks = Array.from(
      { length: nm },
      () => Float64Array.from({ length: 9 }, () => 0.2 + 0.6 * r.next()),
    );
    const { grads } = await igosObjective(method, item, model, masks, opts);
    const eps = 1e-3;
    let worst = 0, scale = 0;
    for (let j = 0; j < nm; j++) {
      for (let p = 0; p < 9; p++) {
        const plus = masks.map((m) => Float64Array.from(m));
        const minus = masks.map((m) => Float64Array.from(m));
        plus[j][p] += eps;
        minus[j][p] -= eps;
        const fp = (await igosObjective(method, item, model, plus, opts)).surrogate;
        const fm = (await igosObjective(method, item, model, minus, opts)).surrogate;
        const fd = (fp - fm) / (2 * eps);
        worst = Math.max(worst, Math.abs(fd - grads[j][p]));
        scale = Math.max(scale, Math.abs(grads[j][p]));
      }
    }
    assert(scale > 1e-3, `${method}: gradient is not trivially zero`);
    assert(
      worst < 2e-3 * Math.max(1, scale),
      `${method}: max |fd − grad| = ${worst}, scale ${scale}`,
    );
  }
});

Deno.test("the loss L is del(Md) + ins(Mi) + del(P) + ins(P) + R", async () => {
  const { model, item } = mlpToy();
  const ones = [new Float64Array(9).fill(1), new Float64Array(9).fill(1)];
  const opts: Partial<IgosOptions> = { maskSize: 3, steps: 5, noise: 0 };
  // All-ones masks: R = 0, del paths run B → I, ins paths run I → B; L = 2·(IS_del − IS_ins).
  const { loss } = await igosObjective("igos++", item, model, ones, opts);
  const size = item.image.length;
  const x = new Float32Array(10 * size);
  for (let k = 1; k <= 5; k++) {
    for (let i = 0; i < size; i++) {
      const d = item.image[i] - item.baseline[i];
      x[(k - 1) * size + i] = item.baseline[i] + (k / 5) * d;
      x[(k + 4) * size + i] = item.image[i] - (k / 5) * d;
    }
  }
  const p = await model.probs(x, 10, new Int32Array(10).fill(item.cls));
  let del = 0, ins = 0;
  for (let k = 0; k < 5; k++) (del += p[k] / 5), (ins += p[k + 5] / 5);
  assertAlmostEquals(loss, 2 * (del - ins), 1e-6);
});

Deno.test("without noise the line search never increases L", async () => {
  const { model, item } = regionToy();
  const res = await igosBatch([item], model, { ...small, noise: 0, iterations: 8 });
  const trace = res.trace[0];
  assertEquals(trace.length, 8);
  trace.forEach((s, k) => {
    assert(s.lossAfter <= s.lossBefore + 1e-9, `iteration ${k}: ${s.lossAfter} > ${s.lossBefore}`);
    if (s.accepted) assert(s.lossAfter <= s.lossBefore, "Armijo condition holds");
    if (k > 0) assertAlmostEquals(s.lossBefore, trace[k - 1].lossAfter, 1e-6);
  });
  assert(trace.some((s) => s.accepted && s.lossAfter < s.lossBefore), "some step made progress");
});

Deno.test("igos7 returns 7x7 masks, low where the evidence is", async () => {
  const { model, item } = regionToy();
  const res = await igos7([item], model, { steps: 10 });
  const m = res.masks[0];
  assertEquals(m.length, 49);
  assertEquals(res.trace[0].length, 2);
  // Region pixels 2..7 of 16 lie under cells 1..2 of the 7x7 grid (cell i at pixel 2.5i).
  const lowest = Array.from(m.keys()).sort((a, b) => m[a] - m[b] || a - b).slice(0, 3);
  for (const cell of lowest) {
    const y = Math.floor(cell / 7), x = cell % 7;
    assert(y >= 0 && y <= 3 && x >= 0 && x <= 3, `low cell (${y}, ${x}) is outside the region`);
  }
  assert(m[48] > Math.min(...m), "far corner is not among the lowest");
});

Deno.test("options are validated with the key named", () => {
  let msg = "";
  try {
    resolveOptions({ steps: 0 });
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(/steps/.test(msg), msg);
  try {
    resolveOptions({ stepDecay: 1.5 });
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(/stepDecay/.test(msg), msg);
});

Deno.test("iGOS++ weights its bilateral TV by the normalised image it explains", async () => {
  // A model whose output ignores its input: the loss of two images differs only by L2·BTV, and
  // TV at mask size is the same for both, so the difference is L2·½·(bilateral TV of U(Md·Mi)
  // weighted by one image − by the other).
  const shape = [1, 4, 4] as const;
  const model = regionModel(shape, { y0: 0, y1: 1, x0: 0, x1: 1 }, 0, 0);
  const edge = Float32Array.from({ length: 16 }, (_, i) => (i % 4 >= 2 ? 0.3 : 0));
  const flat = new Float32Array(16);
  const masks = [Float64Array.of(1, 0.2, 0.6, 0.9), Float64Array.of(0.5, 1, 1, 0.8)];
  const opts: Partial<IgosOptions> = { maskSize: 2, steps: 2, noise: 0, l1: 0, l2: 3 };
  const loss = async (image: Float32Array) =>
    (await igosObjective("igos++", { image, baseline: flat, cls: 0 }, model, masks, opts)).loss;
  const u = new Upsampler(2, 2, 4, 4, "bilinear").apply(masks[0].map((m, i) => m * masks[1][i]));
  const bil = (image: Float32Array) => weightedTv(u, bilateralWeights(image, 1, 4, 4, 0.01), 2);
  const expected = 3 * 0.5 * (bil(edge) - bil(flat));
  assert(expected < -1e-3, `the edge lowers the term (${expected})`);
  assertAlmostEquals((await loss(edge)) - (await loss(flat)), expected, 1e-6);
});
