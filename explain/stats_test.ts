import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "../tests/assert.ts";
import {
  bootstrapMeanCI,
  bootstrapRatio,
  bootstrapRatioCI,
  groupMean,
  mean,
  quantile,
} from "./stats.ts";
import { Rng } from "../lib/rng.ts";

Deno.test("mean and numpy-style quantiles", () => {
  assertEquals(mean([1, 2, 3, 6]), 3);
  assert(Number.isNaN(mean([])));
  assertEquals(quantile([1, 2, 3, 4], 0.25), 1.75); // numpy.quantile([1,2,3,4], 0.25)
  assertEquals(quantile([1, 2, 3, 4], 1), 4);
  assertEquals(quantile([5], 0.3), 5);
});

Deno.test("bootstrapMeanCI is seeded, brackets the mean and has the normal-theory width", () => {
  const rng = new Rng(1);
  const n = 400;
  const xs = Array.from({ length: n }, () => 3 + 2 * rng.normal());
  const a = bootstrapMeanCI(xs, { seed: 4 });
  assertEquals(a, bootstrapMeanCI(xs, { seed: 4 }));
  assertNotEquals(a, bootstrapMeanCI(xs, { seed: 5 }));
  assertEquals(a.mean, mean(xs));
  assert(a.lo < a.mean && a.mean < a.hi);
  // Width of a 95% interval of a mean: 2 * 1.96 * sd / sqrt(n) = 0.392 for sd 2.
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - a.mean) ** 2, 0) / (n - 1));
  assertAlmostEquals(a.hi - a.lo, (2 * 1.96 * sd) / Math.sqrt(n), 0.05);
  const narrow = bootstrapMeanCI(xs, { seed: 4, level: 0.5 });
  assert(narrow.hi - narrow.lo < a.hi - a.lo);
  assertEquals(bootstrapMeanCI([2, 2, 2]), { mean: 2, lo: 2, hi: 2 });
  const empty = bootstrapMeanCI([]);
  assert(Number.isNaN(empty.mean) && Number.isNaN(empty.lo));
  assertThrows(() => bootstrapMeanCI([1, NaN]), /values\[1\] is NaN/);
  assertThrows(() => bootstrapMeanCI([1], { level: 1 }), /level/);
});

Deno.test("bootstrapRatioCI resamples both samples and brackets the ratio of means", () => {
  const rng = new Rng(2);
  const a = Array.from({ length: 300 }, () => 10 + rng.normal());
  const b = Array.from({ length: 200 }, () => 5 + rng.normal());
  const r = bootstrapRatioCI(a, b, { seed: 1 });
  assertAlmostEquals(r.mean, mean(a) / mean(b), 1e-12);
  assert(r.lo < r.mean && r.mean < r.hi && r.lo > 1.9 && r.hi < 2.1);
  // Fixed b: the interval only reflects a's spread, so it is narrower.
  const fixedB = bootstrapRatioCI(a, [5, 5], { seed: 1 });
  assert(fixedB.hi - fixedB.lo < r.hi - r.lo);
});

Deno.test("quantile interpolates", () => {
  assertEquals(quantile([1, 2, 3, 4, 5], 0.5), 3);
  assertEquals(quantile([0, 10], 0.25), 2.5);
  assert(Number.isNaN(quantile([], 0.5)));
  assertThrows(() => quantile([1, 2], 1.5), /q must be in \[0, 1\]/);
});

Deno.test("means skip nulls", () => {
  assertEquals(mean([1, null, 3]), 2);
  assertEquals(mean([1, 2, 3], new Uint32Array([2, 2])), 3);
  assertEquals(groupMean([[1, 3], [10]]), (2 + 10) / 2);
});

Deno.test("bootstrapRatio: constant data gives a degenerate interval at the ratio", () => {
  const r = bootstrapRatio([[6, 6, 6]], [[2, 2, 2], [4, 4, 4]], { samples: 200 });
  assertEquals(r.estimate, 2);
  assertEquals(r.lo, 2);
  assertEquals(r.hi, 2);
  assertEquals(r.paired, true);
});

Deno.test("bootstrapRatio: interval covers the estimate and shrinks with more images", () => {
  const rng = new Rng(11);
  const draw = (n: number, mu: number) =>
    Array.from({ length: n }, () => mu + (rng.next() - 0.5) * mu);
  const small = bootstrapRatio([draw(10, 30)], [draw(10, 10)], { samples: 500, paired: false });
  const big = bootstrapRatio([draw(400, 30)], [draw(400, 10)], { samples: 500, paired: false });
  for (const r of [small, big]) assert(r.lo <= r.estimate && r.estimate <= r.hi);
  assert(big.hi - big.lo < small.hi - small.lo);
  assert(big.lo > 2.5 && big.hi < 3.5, `${big.lo}..${big.hi}`);
  assertEquals(small.paired, false);
});

Deno.test("bootstrapRatio: unequal lengths fall back to unpaired; same seed, same interval", () => {
  const a = bootstrapRatio([[1, 2, 3, 4]], [[2, 3, 4]], { samples: 300, seed: 9 });
  const b = bootstrapRatio([[1, 2, 3, 4]], [[2, 3, 4]], { samples: 300, seed: 9 });
  assertEquals(a.paired, false);
  assertEquals(a, b);
  assertThrows(() => bootstrapRatio([], [[1]]), /empty group/);
});
