import { assert, assertAlmostEquals, assertThrows } from "../tests/assert.ts";
import { Rng } from "../lib/rng.ts";
import { BilateralTv, bilateralWeights, tvNorm, weightedTv } from "./tv.ts";
import { Upsampler } from "./upsample.ts";

Deno.test("tvNorm is the mean squared difference over vertical plus horizontal pairs", () => {
  // 2x3 map [[0, 1, 3], [2, 2, 2]]: vertical Δ = -2, -1, 1 → mean 2; horizontal Δ = -1, -2, 0, 0
  // → mean 5/4.
  const m = [0, 1, 3, 2, 2, 2];
  assertAlmostEquals(tvNorm(m, 2, 3, 2), 2 + 5 / 4, 1e-12);
  assertAlmostEquals(tvNorm(m, 2, 3, 1), 4 / 3 + 3 / 4, 1e-12);
});

Deno.test("bilateral weights are 1 on flat regions and vanish across a strong edge", () => {
  const [c, h, w] = [3, 4, 4];
  const img = new Float32Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < h; y++) for (let x = 2; x < w; x++) img[ch * 16 + y * 4 + x] = 1;
  }
  const k = bilateralWeights(img, c, h, w, 0.01);
  assertAlmostEquals(k.vertical[0], 1, 1e-12);
  assertAlmostEquals(k.horizontal[0], 1, 1e-12); // pair (0,0)-(0,1), both 0
  assert(k.horizontal[1] < 1e-30, "pair (0,1)-(0,2) crosses the edge");
  assertThrows(() => bilateralWeights(img, c, h, 5, 0.01), /image has length/);
});

Deno.test("bilateral weights and TV on a tiny normalised image, by hand", () => {
  // Two channels of a 2x2 normalised image, σ = 0.01:
  //   ch0 [[0, 0.1], [0.2, 0.2]], ch1 [[0, -0.1], [0, 0.2]].
  // Vertical pairs weigh exp(−(mean_c Δ)²/σ): (0,0)-(1,0): Δ = (−0.2, 0), mean −0.1 → e^−1;
  //   (0,1)-(1,1): Δ = (−0.1, −0.3), mean −0.2 → e^−4.
  // Horizontal pairs weigh mean_c exp(−Δ_c²/σ): (0,0)-(0,1): Δ = (−0.1, 0.1) → e^−1;
  //   (1,0)-(1,1): Δ = (0, −0.2) → (1 + e^−4)/2.
  const img = Float32Array.of(0, 0.1, 0.2, 0.2, 0, -0.1, 0, 0.2);
  const k = bilateralWeights(img, 2, 2, 2, 0.01);
  const e1 = Math.exp(-1), e4 = Math.exp(-4);
  for (const [got, want] of [[k.vertical[0], e1], [k.vertical[1], e4]]) {
    assertAlmostEquals(got, want, 1e-6);
  }
  assertAlmostEquals(k.horizontal[0], e1, 1e-6);
  assertAlmostEquals(k.horizontal[1], (1 + e4) / 2, 1e-6);
  // u = [[1, 0], [0, 0]]: vertical |Δ|² = 1, 0 → mean e^−1/2; horizontal 1, 0 → mean e^−1/2.
  assertAlmostEquals(weightedTv([1, 0, 0, 0], k, 2), e1, 1e-6);
  // The same pixels in [0, 1] with std 0.353 (the zoo's): Δ grows 1/0.353, so each weight is
  // the [0, 1] image's to the power 1/0.353² ≈ 8.0, the factor the normalised image restores.
  const one = Float32Array.of(0, 0.1, 0.2, 0.2);
  const raw = bilateralWeights(one, 1, 2, 2, 0.01);
  const norm = bilateralWeights(one.map((v) => (v - 0.286) / 0.353), 1, 2, 2, 0.01);
  assertAlmostEquals(norm.vertical[0], raw.vertical[0] ** (1 / 0.353 ** 2), 1e-6);
  assertAlmostEquals(Math.log(norm.horizontal[0]) / Math.log(raw.horizontal[0]), 8.025, 1e-3);
});

Deno.test("BilateralTv gradient matches finite differences", () => {
  const r = new Rng(2);
  const [c, h, w, g] = [3, 9, 9, 4];
  const rgb = Float32Array.from({ length: c * h * w }, () => r.next());
  const btv = new BilateralTv(
    bilateralWeights(rgb, c, h, w, 0.1),
    new Upsampler(g, g, h, w, "bilinear"),
    2,
  );
  const m = Float64Array.from({ length: g * g }, () => r.next());
  const grad = new Float64Array(g * g);
  btv.value(m, grad, 3);
  const eps = 1e-4;
  for (let p = 0; p < g * g; p++) {
    const a = Float64Array.from(m), b = Float64Array.from(m);
    a[p] += eps;
    b[p] -= eps;
    const fd = (3 * (btv.value(a) - btv.value(b))) / (2 * eps);
    assertAlmostEquals(grad[p], fd, 1e-4 * Math.max(1, Math.abs(fd)), `cell ${p}`);
  }
  // weightedTv with all-one weights equals tvNorm at the same size.
  const ones = {
    h: 3,
    w: 3,
    vertical: new Float32Array(6).fill(1),
    horizontal: new Float32Array(6).fill(1),
  };
  const u = [1, 2, 3, 0, 5, 1, 2, 2, 2];
  assertAlmostEquals(weightedTv(u, ones, 2), tvNorm(u, 3, 3, 2), 1e-12);
});
