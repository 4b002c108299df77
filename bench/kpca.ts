/**
 * The Kernel PCA's eigensolver, mathjs `eigs` (explain/kpca.ts), against the cyclic Jacobi solver
 * it replaced (explain/testing/jacobi.ts): agreement (largest difference of eigenvalues and of
 * oriented eigenvector components), determinism (a digest of mathjs's output, to compare between
 * runs) and time, on the default's centred kernel and on random symmetric matrices.
 *   deno run -A bench/kpca.ts     (JSON lines on stdout)
 */
import { centreKernel, symmetricEigen } from "../explain/kpca.ts";
import { jacobiEigen } from "../explain/testing/jacobi.ts";
import { Rng } from "../lib/rng.ts";
import { sha256 } from "../lib/hash.ts";

function timed<T>(f: () => T): { result: T; ms: number } {
  const t0 = performance.now();
  const result = f();
  return { result, ms: +(performance.now() - t0).toFixed(1) };
}

function measure(name: string, a: number[][]) {
  const m = timed(() => symmetricEigen(a)), j = timed(() => jacobiEigen(a));
  const most = (x: number[], y: number[]) => Math.max(...x.map((v, i) => Math.abs(v - y[i])));
  const bytes = JSON.stringify(m.result);
  return {
    name,
    n: a.length,
    mathjsMs: m.ms,
    jacobiMs: j.ms,
    eigenvalueDiff: most(m.result.values, j.result.values),
    eigenvectorDiff: Math.max(...m.result.vectors.map((v, k) => most(v, j.result.vectors[k]))),
    sameBytesTwice: JSON.stringify(symmetricEigen(a)) === bytes,
    digest: sha256(bytes).slice(0, 16),
  };
}

if (import.meta.main) {
  const expected = JSON.parse(
    await Deno.readTextFile(new URL("../reports/expected/default.json", import.meta.url)),
  );
  const s: number[][] = expected.results.input.cross_matrix.insertion;
  const k = centreKernel(s.map((row, i) => row.map((x, j) => (x + s[j][i]) / 2)));
  console.log(JSON.stringify(measure("default S", k)));
  const rng = new Rng(21);
  for (const n of [10, 50, 100, 200]) {
    const b = Array.from({ length: n }, () => Array.from({ length: n }, () => rng.normal()));
    const a = b.map((row, i) => row.map((v, j) => (v + b[j][i]) / 2));
    console.log(JSON.stringify(measure(`random ${n}`, a)));
  }
}
