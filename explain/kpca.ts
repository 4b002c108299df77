/**
 * The 2-D model landscape (METHODS §5, Fig. 6): Kernel PCA on the cross-testing matrix used as a
 * precomputed kernel, its eigendecomposition by mathjs `eigs`. mathjs is deterministic (the same
 * matrix gives the same bytes within a run and between runs) and, with the sign convention of
 * `orient` applied afterwards, agrees with the cyclic Jacobi solver it replaced
 * (explain/testing/jacobi.ts) to 2.2e-15 in eigenvalues and 6.1e-14 in eigenvector components on
 * the default's S, and to 1.1e-12 and 1.5e-13 on a random 200x200 matrix (bench/kpca.ts). Its
 * solver is classical Jacobi (a search for the largest off-diagonal before each rotation, O(n⁴)):
 * about 3 s at 200 models, against 0.3-0.9 s for the cyclic sweeps; at the paper's 16, 16-44 ms.
 */
import { eigs } from "mathjs";

export interface KpcaOptions {
  /** Output dimensions. */
  components: number;
  /** Above this many models, return a warning (the eigensolver is O(n⁴)). */
  warnAbove: number;
}

export const defaults: Readonly<KpcaOptions> = Object.freeze({ components: 2, warnAbove: 500 });

export interface KpcaResult {
  /** coords[i][k] = v_k[i] · sqrt(max(λ_k, 0)). */
  coords: number[][];
  /** Every eigenvalue of the centred kernel, descending. */
  eigenvalues: number[];
  /** Eigenvalues below −1e-12·max|λ| (the symmetrised S need not be positive semi-definite). */
  negativeEigenvalues: number[];
  /** Output components whose eigenvalue was negative and was clipped to 0. */
  clippedComponents: number[];
  warning?: string;
}

/**
 * Flips `v` so that its largest-magnitude component (the first within 1e-12 on ties) is positive.
 * An eigenvector is defined only up to sign; fixing it after the solver keeps the landscape's axes,
 * and so the reports, byte-stable.
 */
export function orient(v: number[]): number[] {
  let best = 0;
  for (let k = 1; k < v.length; k++) {
    if (Math.abs(v[k]) > Math.abs(v[best]) + 1e-12) best = k;
  }
  return v[best] < 0 ? v.map((x) => -x) : v;
}

/**
 * Eigen-decomposition of a symmetric matrix by mathjs `eigs`. Values descending; vectors[k] is the
 * unit eigenvector of values[k], oriented by `orient`.
 */
export function symmetricEigen(
  matrix: readonly (readonly number[])[],
): { values: number[]; vectors: number[][] } {
  const n = matrix.length;
  matrix.forEach((row, i) => {
    if (row.length !== n) {
      throw new Error(`kpca.symmetricEigen: row ${i} has ${row.length} entries, not ${n}`);
    }
  });
  let largest = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const d = Math.abs(matrix[i][j] - matrix[j][i]);
      if (!(d <= 1e-9 * (1 + Math.abs(matrix[i][j])))) {
        throw new Error(`kpca.symmetricEigen: matrix is not symmetric at (${i}, ${j})`);
      }
    }
    for (let j = 0; j < n; j++) largest = Math.max(largest, Math.abs(matrix[i][j]));
  }
  if (n === 0) return { values: [], vectors: [] };
  // Exactly symmetric, so that mathjs takes its real symmetric (Jacobi) path and not the general
  // one. Its precision is absolute (it stops when no off-diagonal exceeds precision / n), so it is
  // scaled to the matrix (mathjs's default 1e-12 for a zero matrix), rounded to one digit because
  // mathjs converts it to a BigNumber, which refuses more than 15.
  const a = matrix.map((row, i) => row.map((x, j) => (x + matrix[j][i]) / 2));
  const precision = Number((1e-12 * largest).toPrecision(1)) || 1e-12;
  const { eigenvectors } = eigs(a, { precision });
  const pairs = eigenvectors.map((e, i) => ({
    value: e.value as number,
    vector: e.vector as number[],
    i,
  })).sort((x, y) => y.value - x.value || x.i - y.i);
  return { values: pairs.map((p) => p.value), vectors: pairs.map((p) => orient(p.vector)) };
}

/** H K H with H = I − 11ᵀ/n. */
export function centreKernel(k: readonly (readonly number[])[]): number[][] {
  const n = k.length;
  const rowMean = k.map((r) => r.reduce((s, x) => s + x, 0) / n);
  const colMean = Array.from({ length: n }, (_, j) => k.reduce((s, r) => s + r[j], 0) / n);
  const all = rowMean.reduce((s, x) => s + x, 0) / n;
  return k.map((r, i) => r.map((x, j) => x - rowMean[i] - colMean[j] + all));
}

/** Kernel PCA of a cross-testing matrix S with K = (S + Sᵀ)/2, double-centred. */
export function kernelPca(
  s: readonly (readonly number[])[],
  options: Partial<KpcaOptions> = {},
): KpcaResult {
  const o = { ...defaults, ...options };
  const n = s.length;
  if (n === 0) throw new Error("kpca: empty matrix");
  s.forEach((row, i) => {
    if (row.length !== n) throw new Error(`kpca: row ${i} has ${row.length} entries, not ${n}`);
    row.forEach((x, j) => {
      if (!Number.isFinite(x)) throw new Error(`kpca: S[${i}][${j}] is not finite (${x})`);
    });
  });
  if (!Number.isInteger(o.components) || o.components < 1) {
    throw new Error(`kpca options: components must be a positive integer`);
  }
  const k = s.map((row, i) => row.map((x, j) => (x + s[j][i]) / 2));
  const { values, vectors } = symmetricEigen(centreKernel(k));
  const scale = Math.max(...values.map(Math.abs), 0);
  const negativeEigenvalues = values.filter((x) => x < -1e-12 * scale);
  const m = Math.min(o.components, n);
  const clippedComponents: number[] = [];
  const roots = Array.from({ length: m }, (_, c) => {
    if (values[c] < -1e-12 * scale) clippedComponents.push(c);
    return Math.sqrt(Math.max(values[c], 0));
  });
  const coords = Array.from(
    { length: n },
    (_, i) =>
      Array.from({ length: o.components }, (_, c) => (c < m ? vectors[c][i] * roots[c] + 0 : 0)), // + 0: no -0
  );
  const result: KpcaResult = {
    coords,
    eigenvalues: values,
    negativeEigenvalues,
    clippedComponents,
  };
  if (n > o.warnAbove) {
    result.warning =
      `kpca: ${n} models exceed ${o.warnAbove}; the eigensolver (mathjs eigs, classical Jacobi) ` +
      `is O(n⁴) and will be slow`;
  }
  return result;
}
