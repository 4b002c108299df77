import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertNotEquals,
  assertThrows,
} from "../tests/assert.ts";
import {
  alignImages,
  bootstrapMeanCI,
  flipTest,
  geometricMeanRatio,
  jointBootstrap,
  mean,
  meanRatio,
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

Deno.test("quantile interpolates", () => {
  assertEquals(quantile([1, 2, 3, 4, 5], 0.5), 3);
  assertEquals(quantile([0, 10], 0.25), 2.5);
  assert(Number.isNaN(quantile([], 0.5)));
  assertThrows(() => quantile([1, 2], 1.5), /q must be in \[0, 1\]/);
});

Deno.test("quantile at an index a rounding error off a whole number (0.025 of 201 samples)", () => {
  // 0.025 * 200 = 5.000000000000004: the 6th order statistic, for every such sample count.
  for (const n of [121, 201, 1001, 2001, 10001]) {
    const sorted = Array.from({ length: n }, (_, k) => k * 10);
    const lo = quantile(sorted, 0.025);
    assertEquals(lo, ((n - 1) / 40) * 10, `n = ${n}`);
    assertEquals(quantile(sorted, 0.975), ((39 * (n - 1)) / 40) * 10, `n = ${n}`);
  }
  const xs = Array.from({ length: 30 }, (_, k) => k % 7);
  const ci = bootstrapMeanCI(xs, { samples: 201 });
  assert(Number.isFinite(ci.lo) && Number.isFinite(ci.hi) && ci.lo < ci.hi, JSON.stringify(ci));
});

Deno.test("means skip nulls", () => {
  assertEquals(mean([1, null, 3]), 2);
  assertEquals(mean([1, 2, 3], new Uint32Array([2, 2])), 3);
});

Deno.test("geometricMeanRatio: exp of the difference of mean log(1 + x), by hand", () => {
  const num = [[0, 3, 7], [1, 1, null]];
  const den = [[3, 3, 3]];
  const r = geometricMeanRatio(num, den, { samples: 200 });
  const l = (xs: number[]) => xs.reduce((s, x) => s + Math.log1p(x), 0) / xs.length;
  const want = Math.exp((l([0, 3, 7]) + l([1, 1])) / 2 - l([3, 3, 3]));
  assertAlmostEquals(r.estimate, want, 1e-12);
  assert(r.lo <= r.estimate && r.estimate <= r.hi);
  assertEquals(r.images, 3);
  // Resamples that draw only image 2 leave the second series without a value: dropped.
  assert(r.samples < 200 && r.samples > 150, `${r.samples}`);
  assertThrows(() => geometricMeanRatio([[-1]], [[1]]), /not > -1/);
  assertThrows(() => geometricMeanRatio([], [[1]]), /empty group/);
});

Deno.test("geometricMeanRatio resists the one heavy image that sways the ratio of means", () => {
  // Nine images where the numerator has a tenth of the denominator's count, one where it has
  // 777,478: the ratio of means says 157x "more" and its interval spans 0.1 to 481; the
  // geometric one says 0.27x, "fewer", with an interval less than half as wide on a log scale.
  const num = [[50, 40, 60, 45, 55, 50, 40, 60, 45, 777478]];
  const den = [[500, 400, 600, 450, 550, 500, 400, 600, 450, 500]];
  const gm = geometricMeanRatio(num, den, { seed: 3 });
  const am = meanRatio(num, den, { seed: 3 });
  assert(am.estimate > 10, `${am.estimate}`);
  assert(am.lo < 1 && am.hi > 1, `${am.lo}..${am.hi}`);
  assert(gm.estimate < 0.5, `${gm.estimate} [${gm.lo}, ${gm.hi}]`);
  assert(Math.log(gm.hi / gm.lo) < Math.log(am.hi / am.lo) / 2, `${gm.lo}..${gm.hi}`);
});

Deno.test("jointBootstrap draws one index vector for all series", () => {
  // Two series that differ by a constant factor on every image: resampled jointly their ratio is
  // the same in every resample, so the interval is a point; resampled apart it would not be.
  const a = [1, 5, 2, 9, 4, 7];
  const b = a.map((x) => 3 * x);
  const r = jointBootstrap([b, a], (m) => m[0] / m[1], { samples: 300, seed: 2 });
  assertAlmostEquals(r.lo, 3, 1e-12);
  assertAlmostEquals(r.hi, 3, 1e-12);
  assertEquals(r, jointBootstrap([b, a], (m) => m[0] / m[1], { samples: 300, seed: 2 }));
  assertThrows(() => jointBootstrap([[1, 2], [1]], (m) => m[0]), /series 1 has 1 images/);
  assertThrows(() => jointBootstrap([[1, NaN]], (m) => m[0]), /use null/);
});

Deno.test("jointBootstrap drops resamples where the statistic is undefined", () => {
  // Series 1 has one value: resamples that miss image 0 give it no mean.
  const r = jointBootstrap([[1, 2, 3, 4], [5, null, null, null]], (m) => m[0] + m[1], {
    samples: 400,
  });
  assert(r.samples < 400 && r.samples > 50, `${r.samples}`);
  assertEquals(r.estimate, 2.5 + 5);
});

Deno.test("meanRatio: interval covers the estimate and shrinks with more images", () => {
  const rng = new Rng(11);
  const draw = (n: number, mu: number) =>
    Array.from({ length: n }, () => mu + (rng.next() - 0.5) * mu);
  const small = meanRatio([draw(10, 30)], [draw(10, 10)], { samples: 500 });
  const big = meanRatio([draw(400, 30)], [draw(400, 10)], { samples: 500 });
  for (const r of [small, big]) assert(r.lo <= r.estimate && r.estimate <= r.hi);
  assert(big.hi - big.lo < small.hi - small.lo);
  assert(big.lo > 2.5 && big.hi < 3.5, `${big.lo}..${big.hi}`);
});

Deno.test("alignImages puts series on the union of image ids", () => {
  const { ids, series } = alignImages([
    { ids: ["a", "b", "c"], values: [1, 2, 3] },
    { ids: ["c", "d"], values: [30, null] },
  ]);
  assertEquals(ids, ["a", "b", "c", "d"]);
  assertEquals(series, [[1, 2, 3, null], [null, null, 30, null]]);
  assertThrows(() => alignImages([{ ids: ["a", "a"], values: [1, 2] }]), /twice/);
  assertThrows(() => alignImages([{ ids: ["a"], values: [1, 2] }]), /1 ids and 2 values/);
});

Deno.test("flipTest: a real asymmetry gives a small p, a symmetric one does not", () => {
  // d[i]: image i's difference between the two directions; a flip negates it.
  const rng = new Rng(5);
  const stat = (d: number[]) => (flip: Uint8Array | null) =>
    Math.abs(d.reduce((s, x, i) => s + (flip?.[i] ? -x : x), 0) / d.length);
  const shifted = Array.from({ length: 30 }, () => 0.2 + 0.1 * rng.normal());
  const centred = Array.from({ length: 30 }, () => 0.1 * rng.normal());
  const yes = flipTest(30, stat(shifted), { seed: 1 });
  const no = flipTest(30, stat(centred), { seed: 1 });
  assert(yes.p < 0.01 && yes.statistic > yes.nullQuantile, JSON.stringify(yes));
  assert(no.p > 0.05 && no.statistic < no.nullQuantile, JSON.stringify(no));
  assertEquals(yes.samples, 2000);
  assertEquals(flipTest(30, stat(shifted), { seed: 1 }), yes);
});
