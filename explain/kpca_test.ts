import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../tests/assert.ts";
import { centreKernel, kernelPca, orient, symmetricEigen } from "./kpca.ts";
import { jacobiEigen } from "./testing/jacobi.ts";
import { Rng } from "../lib/rng.ts";

const gram = (x: number[][]) => x.map((a) => x.map((b) => a.reduce((s, v, i) => s + v * b[i], 0)));

Deno.test("linear kernel of a rectangle gives its centred PCA coordinates up to sign", () => {
  // Corners of a 4x2 rectangle centred at (3, 1): centred PCA coordinates are (±2, ±1).
  const x = [[5, 2], [1, 2], [1, 0], [5, 0]];
  const r = kernelPca(gram(x));
  const expected = x.map(([a, b]) => [a - 3, b - 1]);
  for (let c = 0; c < 2; c++) {
    const sign = Math.sign(r.coords[0][c] * expected[0][c]);
    r.coords.forEach((p, i) => assertAlmostEquals(p[c], sign * expected[i][c], 1e-9, `point ${i}`));
  }
  assertAlmostEquals(r.eigenvalues[0], 16, 1e-9); // Σ (±2)²
  assertAlmostEquals(r.eigenvalues[1], 4, 1e-9);
  assertEquals(r.negativeEigenvalues, []);
  assertEquals(r.warning, undefined);
});

Deno.test("points on a line: second coordinate vanishes, distances are kept", () => {
  const x = [[0, 0, 0], [1, 2, 2], [3, 6, 6], [-1, -2, -2]];
  const r = kernelPca(gram(x));
  for (const p of r.coords) assertAlmostEquals(p[1], 0, 1e-7);
  const t = x.map((p) => p[0] * 3); // |(1, 2, 2)| = 3
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      assertAlmostEquals(Math.abs(r.coords[i][0] - r.coords[j][0]), Math.abs(t[i] - t[j]), 1e-9);
    }
  }
});

Deno.test("S is symmetrised, negative eigenvalues are clipped and reported", () => {
  // Asymmetric S whose symmetric part is not PSD after centring.
  const s = [
    [0, 1, 0.2],
    [0.6, 0, 1],
    [0, 0.8, 0],
  ];
  const r = kernelPca(s, { components: 3 });
  const k = s.map((row, i) => row.map((v, j) => (v + s[j][i]) / 2));
  const kc = centreKernel(k);
  const trace = kc.reduce((a, row, i) => a + row[i], 0);
  assertAlmostEquals(r.eigenvalues.reduce((a, b) => a + b, 0), trace, 1e-9);
  assert(r.negativeEigenvalues.length > 0, "this kernel has a negative eigenvalue");
  assertEquals(r.clippedComponents.length, r.negativeEigenvalues.length);
  for (const c of r.clippedComponents) for (const p of r.coords) assertEquals(p[c], 0);
});

Deno.test("eigenpairs reconstruct the matrix; sign convention is deterministic", () => {
  const rng = new Rng(9);
  const n = 12;
  const b = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.normal()));
  const a = b.map((row, i) => row.map((v, j) => (v + b[j][i]) / 2));
  const { values, vectors } = symmetricEigen(a);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += values[k] * vectors[k][i] * vectors[k][j];
      assertAlmostEquals(s, a[i][j], 1e-9);
    }
  }
  for (let k = 1; k < n; k++) assert(values[k - 1] >= values[k], "descending");
  for (const v of vectors) {
    const big = v.reduce((m, x) => (Math.abs(x) > Math.abs(m) ? x : m), 0);
    assert(big > 0, "largest component is positive");
  }
  assertThrows(() => symmetricEigen([[1, 2], [0, 1]]), /not symmetric/);
});

Deno.test("large n gives a warning; bad input gives clear errors", () => {
  const r = kernelPca([[1, 0], [0, 1]], { warnAbove: 1 });
  assert(r.warning && /2 models/.test(r.warning), r.warning);
  assertThrows(() => kernelPca([[1, NaN], [0, 1]]), /S\[0\]\[1\]/);
  assertThrows(() => kernelPca([[1, 0]]), /row 0/);
});

const symmetric = (rng: Rng, n: number) => {
  const b = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.normal()));
  return b.map((row, i) => row.map((v, j) => (v + b[j][i]) / 2));
};

/** Largest |a - b| over eigenvalues and over every component of the oriented eigenvectors. */
function disagreement(a: number[][]): { values: number; vectors: number } {
  const m = symmetricEigen(a), j = jacobiEigen(a);
  const most = (x: number[], y: number[]) => Math.max(...x.map((v, i) => Math.abs(v - y[i])));
  return {
    values: most(m.values, j.values),
    vectors: Math.max(...m.vectors.map((v, k) => most(v, j.vectors[k]))),
  };
}

const sameBytes = (a: number[][]) =>
  JSON.stringify(symmetricEigen(a)) === JSON.stringify(symmetricEigen(a));

Deno.test("mathjs agrees with the Jacobi solver it replaced on the default's S", async () => {
  const expected = JSON.parse(
    await Deno.readTextFile(new URL("../reports/expected/default.json", import.meta.url)),
  ).results.input;
  const s: number[][] = expected.cross_matrix.insertion;
  const k = centreKernel(s.map((row, i) => row.map((x, j) => (x + s[j][i]) / 2)));
  const d = disagreement(k);
  assert(d.values < 1e-12 && d.vectors < 1e-9, JSON.stringify(d));
  assert(sameBytes(k), "the same matrix gives the same bytes");
  // The landscape the report draws (its axes' signs included) is the one the expectation holds.
  const { coords } = kernelPca(s);
  expected.figures.landscape.points.forEach((p: { x: number; y: number }, i: number) => {
    assertAlmostEquals(coords[i][0], p.x, 1e-9, `model ${i}, x`);
    assertAlmostEquals(coords[i][1], p.y, 1e-9, `model ${i}, y`);
  });
});

Deno.test("mathjs agrees with the Jacobi solver on random symmetric matrices up to 200x200", () => {
  const rng = new Rng(21);
  for (const n of [1, 2, 3, 7, 16, 50, 200]) {
    const d = disagreement(symmetric(rng, n));
    assert(d.values < 1e-10 && d.vectors < 1e-9, `n = ${n}: ${JSON.stringify(d)}`);
  }
  assert(sameBytes(symmetric(rng, 50)), "the same matrix gives the same bytes");
  // Scale-free: the stopping rule follows the matrix's size, so tiny kernels are as exact.
  const tiny = symmetric(rng, 12).map((row) => row.map((x) => x * 1e-9));
  const d = disagreement(tiny);
  assert(d.values < 1e-19 && d.vectors < 1e-9, JSON.stringify(d));
  assertEquals(symmetricEigen([[0, 0], [0, 0]]), { values: [0, 0], vectors: [[1, 0], [0, 1]] });
});

Deno.test("orient makes the largest-magnitude component positive, the first on ties", () => {
  assertEquals(orient([0.6, -0.8]), [-0.6, 0.8]);
  assertEquals(orient([-0.5, 0.5, 0.5]), [0.5, -0.5, -0.5]);
  assertEquals(orient([0.5, -0.5 - 1e-13]), [0.5, -0.5 - 1e-13]);
});
