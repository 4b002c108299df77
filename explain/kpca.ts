/**
 * The 2-D model landscape (METHODS §5, Fig. 6): Kernel PCA on the cross-testing matrix used as a
 * precomputed kernel. A small cyclic Jacobi solver keeps it dependency-free and deterministic
 * (fixed sweep order, fixed sign convention), which matters for byte-stable reports.
 */

export interface KpcaOptions {
  /** Output dimensions. */
  components: number;
  /** Above this many models, return a warning (Jacobi is O(n³) per sweep). */
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
 * Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations. Values descending;
 * vectors[k] is the unit eigenvector of values[k], its largest-magnitude component positive
 * (the first such component on ties).
 */
export function symmetricEigen(
  matrix: readonly (readonly number[])[],
  maxSweeps = 100,
): { values: number[]; vectors: number[][] } {
  const n = matrix.length;
  const a = matrix.map((row, i) => {
    if (row.length !== n) {
      throw new Error(`kpca.symmetricEigen: row ${i} has ${row.length} entries, not ${n}`);
    }
    return Float64Array.from(row);
  });
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const d = Math.abs(a[i][j] - a[j][i]);
      if (!(d <= 1e-9 * (1 + Math.abs(a[i][j])))) {
        throw new Error(`kpca.symmetricEigen: matrix is not symmetric at (${i}, ${j})`);
      }
    }
  }
  const v = Array.from({ length: n }, (_, i) => {
    const r = new Float64Array(n);
    r[i] = 1;
    return r;
  });
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0, total = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        total += a[i][j] * a[i][j];
        if (i !== j) off += a[i][j] * a[i][j];
      }
    }
    if (off <= 1e-30 * Math.max(total, 1e-300)) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p][q];
        if (apq === 0) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p], vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[y][y] - a[x][x] || x - y);
  const values = order.map((i) => a[i][i]);
  const vectors = order.map((col) => {
    const vec = Array.from({ length: n }, (_, k) => v[k][col]);
    let best = 0;
    for (let k = 1; k < n; k++) {
      if (Math.abs(vec[k]) > Math.abs(vec[best]) + 1e-12) best = k;
    }
    return vec[best] < 0 ? vec.map((x) => -x) : vec;
  });
  return { values, vectors };
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
      `kpca: ${n} models exceed ${o.warnAbove}; the Jacobi solver is O(n³) per sweep ` +
      `and will be slow`;
  }
  return result;
}
