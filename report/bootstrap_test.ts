import assert from "node:assert/strict";
import { bootstrapRatio, groupMean, meanAt, mulberry32, quantile } from "./bootstrap.ts";

Deno.test("mulberry32 is deterministic and uniform-ish", () => {
  const a = mulberry32(5);
  const b = mulberry32(5);
  const xs = Array.from({ length: 10000 }, () => a());
  assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => b()));
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(m - 0.5) < 0.02, `mean ${m}`);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});

Deno.test("quantile interpolates", () => {
  assert.equal(quantile([1, 2, 3, 4, 5], 0.5), 3);
  assert.equal(quantile([0, 10], 0.25), 2.5);
  assert.ok(Number.isNaN(quantile([], 0.5)));
});

Deno.test("means skip nulls", () => {
  assert.equal(meanAt([1, null, 3]), 2);
  assert.equal(meanAt([1, 2, 3], new Uint32Array([2, 2])), 3);
  assert.equal(groupMean([[1, 3], [10]]), (2 + 10) / 2);
});

Deno.test("bootstrapRatio: constant data gives a degenerate interval at the ratio", () => {
  const r = bootstrapRatio([[6, 6, 6]], [[2, 2, 2], [4, 4, 4]], { samples: 200 });
  assert.equal(r.estimate, 2);
  assert.equal(r.lo, 2);
  assert.equal(r.hi, 2);
  assert.equal(r.paired, true);
});

Deno.test("bootstrapRatio: interval covers the estimate and shrinks with more images", () => {
  const rand = mulberry32(11);
  const draw = (n: number, mu: number) => Array.from({ length: n }, () => mu + (rand() - 0.5) * mu);
  const small = bootstrapRatio([draw(10, 30)], [draw(10, 10)], { samples: 500, paired: false });
  const big = bootstrapRatio([draw(400, 30)], [draw(400, 10)], { samples: 500, paired: false });
  for (const r of [small, big]) assert.ok(r.lo <= r.estimate && r.estimate <= r.hi);
  assert.ok(big.hi - big.lo < small.hi - small.lo);
  assert.ok(big.lo > 2.5 && big.hi < 3.5, `${big.lo}..${big.hi}`);
  assert.equal(small.paired, false);
});

Deno.test("bootstrapRatio: unequal lengths fall back to unpaired; same seed, same interval", () => {
  const a = bootstrapRatio([[1, 2, 3, 4]], [[2, 3, 4]], { samples: 300, seed: 9 });
  const b = bootstrapRatio([[1, 2, 3, 4]], [[2, 3, 4]], { samples: 300, seed: 9 });
  assert.equal(a.paired, false);
  assert.deepEqual(a, b);
  assert.throws(() => bootstrapRatio([], [[1]]), /empty group/);
});
