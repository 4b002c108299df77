/**
 * Does a run on another provider (bench/gpu.sh's DAG on CUDA) give the CPU's results? Compares its
 * results.json with reports/expected/default.json under the tolerances stated there, ignoring only
 * what names the runtime on purpose: the execution provider, the ONNX Runtime version and the
 * config's `runtime` block (`--require-provider` sets it). Exit 1 on a difference, listed.
 *
 *   deno run --allow-read bench/compare_to_cpu.ts <expected.json> <results.json>
 */
import {
  compareResults,
  type Expectation,
  formatDiff,
  type Tolerances,
} from "../report/compare.ts";

/** The provenance fields that say which runtime produced the results. */
export const runtimeFields = [
  "$.input.provenance.execution_provider",
  "$.input.provenance.onnxruntime_version",
  "$.input.provenance.config.runtime",
];

/** The expectation's tolerances with the runtime's own fields ignored. */
export function acrossProviders(tol: Tolerances): Tolerances {
  return { ...tol, ignore: [...tol.ignore, ...runtimeFields] };
}

if (import.meta.main) {
  const [expectedPath, actualPath] = Deno.args;
  if (!expectedPath || !actualPath) {
    console.error("usage: compare_to_cpu.ts <expected.json> <results.json>");
    Deno.exit(2);
  }
  const expected: Expectation = JSON.parse(await Deno.readTextFile(expectedPath));
  const actual = JSON.parse(await Deno.readTextFile(actualPath));
  const diffs = compareResults(expected.results, actual, acrossProviders(expected.tolerances));
  if (diffs.length) {
    console.log(`${actualPath} differs from ${expectedPath} in ${diffs.length} places:`);
    console.log(formatDiff(diffs));
    Deno.exit(1);
  }
  console.log(
    `${actualPath} matches ${expectedPath} within its tolerances (runtime fields aside: ` +
      `${actual.input?.provenance?.execution_provider ?? "?"} here)`,
  );
}
