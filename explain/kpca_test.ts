import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../tests/assert.ts";
import { centreKernel, kernelPca, symmetricEigen } from "./kpca.ts";
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

Deno.test("Jacobi eigenpairs reconstruct the matrix; sign convention is deterministic", () => {
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
