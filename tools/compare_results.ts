/**
 * Checks a regenerated results.json against reports/expected/<name>.json (CI), or writes that
 * expectation from a run (`--update`, after a deliberate change).
 * Usage: deno run --allow-read --allow-write=reports tools/compare_results.ts <expected.json> <results.json> [--update]
 */
import {
  compareResults,
  defaultTolerances,
  type Expectation,
  formatDiff,
} from "../report/compare.ts";

const [expectedPath, actualPath, flag] = Deno.args;
if (!expectedPath || !actualPath) {
  console.error("usage: compare_results.ts <expected.json> <results.json> [--update]");
  Deno.exit(2);
}
const actual = JSON.parse(await Deno.readTextFile(actualPath));
if (flag === "--update") {
  // reports/expected/<name>.json holds configs/<name>.json's run; only the default's is rerun by CI.
  const name = expectedPath.replace(/^.*\//, "").replace(/\.json$/, "");
  const exp: Expectation = {
    description: (name === "default"
      ? "results.json of the embedded default, regenerated from an empty store by .ci/regenerate; "
      : `results.json of configs/${name}.json (CI does not rerun it; compare a rerun with this ` +
        "tool); ") +
      "counts must match exactly, floating-point figures within the tolerances below",
    tolerances: defaultTolerances,
    results: actual,
  };
  await Deno.writeTextFile(expectedPath, JSON.stringify(exp, null, 1) + "\n");
  console.log(`wrote ${expectedPath}`);
  Deno.exit(0);
}
const expected: Expectation = JSON.parse(await Deno.readTextFile(expectedPath));
const added: string[] = [];
const diffs = compareResults(expected.results, actual, expected.tolerances, 200, added);
if (added.length) {
  console.log(
    `note: ${added.length} key(s) not in ${expectedPath} (not compared; \`--update\` pins them): ` +
      added.slice(0, 20).join(", ") + (added.length > 20 ? ", ..." : ""),
  );
}
if (diffs.length) {
  console.error(
    `${actualPath} differs from ${expectedPath} in ${diffs.length}${
      diffs.length >= 200 ? "+" : ""
    } places:`,
  );
  console.error(formatDiff(diffs));
  Deno.exit(1);
}
console.log(`${actualPath} matches ${expectedPath}`);
