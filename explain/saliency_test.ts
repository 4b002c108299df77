import { assert, assertAlmostEquals, assertEquals, assertNotEquals } from "../tests/assert.ts";
import { gradientSaliency, occlusion, poolToGrid, rise, riseMasks } from "./saliency.ts";
import { ComposingScorer, regionModel } from "./testing/toy_models.ts";

const SHAPE = [3, 16, 16] as const;
const REGION = { y0: 8, y1: 14, x0: 2, x1: 8 };
const model = regionModel(SHAPE, REGION, 9.2 / 108, -4.6);
const image = new Float32Array(768).fill(1);
const scorer = new ComposingScorer(model, [image], [new Float32Array(768)]);

/** Mean saliency over cells of an 8x8 grid whose pixel block meets the region, vs the rest. */
function contrast(
  heat: Float32Array,
  cellOf: (y: number) => number,
): { inside: number; outside: number } {
  const inRegion = new Set<number>();
  for (let y = REGION.y0; y < REGION.y1; y++) {
    for (let x = REGION.x0; x < REGION.x1; x++) inRegion.add(cellOf(y) * 8 + cellOf(x));
  }
  let si = 0, so = 0;
  heat.forEach((v, k) => (inRegion.has(k) ? (si += v) : (so += v)));
  return { inside: si / inRegion.size, outside: so / (64 - inRegion.size) };
}

Deno.test("poolToGrid averages blocks", () => {
  const map = Float32Array.from({ length: 16 }, (_, i) => i); // 4x4
  assertEquals(Array.from(poolToGrid(map, 4, 4, 2)), [2.5, 4.5, 10.5, 12.5]);
});

Deno.test("gradient saliency lives exactly in the evidence region", async () => {
  const [heat] = await gradientSaliency([{ image, cls: 0 }], model, { maskSize: 8 });
  assertEquals(heat.length, 64);
  heat.forEach((v, k) => {
    const y = Math.floor(k / 8), x = k % 8; // cell k covers pixels 2y..2y+1
    const inside = 2 * y >= REGION.y0 && 2 * y < REGION.y1 && 2 * x >= REGION.x0 &&
      2 * x < REGION.x1;
    assert(inside ? v > 0 : v === 0, `cell (${y}, ${x}) = ${v}`);
  });
});

Deno.test("RISE ranks the evidence region highest and is seeded", async () => {
  const opts = { maskSize: 8, cells: 4, masks: 300, seed: 3 };
  const [heat] = await rise([{ image: 0, cls: 0 }], scorer, opts);
  const { inside, outside } = contrast(heat, (p) => Math.floor(p / 2));
  assert(inside > outside + 0.05, `inside ${inside} vs outside ${outside}`);
  assertEquals(scorer.calls > 0, true);
  const a = riseMasks(opts), b = riseMasks(opts), c = riseMasks({ ...opts, seed: 4 });
  assertEquals(Array.from(a[7]), Array.from(b[7]));
  assertNotEquals(Array.from(a[7]), Array.from(c[7]));
  for (const m of a) assert(m.every((v) => v >= 0 && v <= 1), "mask values in [0, 1]");
  const mean = a.reduce((s, m) => s + m.reduce((t, v) => t + v, 0), 0) / (a.length * 64);
  assertAlmostEquals(mean, 0.5, 0.05);
});

Deno.test("occlusion ranks the evidence region highest, one scorer call", async () => {
  const s = new ComposingScorer(model, [image], [new Float32Array(768)], "bilinear", 10_000);
  const [heat] = await occlusion([{ image: 0, cls: 0 }], s, { maskSize: 8, window: 2, stride: 1 });
  assertEquals(s.calls, 1);
  const { inside, outside } = contrast(heat, (p) => Math.round((p * 7) / 15));
  assert(inside > 5 * Math.max(outside, 1e-6), `inside ${inside} vs outside ${outside}`);
});
