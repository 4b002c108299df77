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
import { jsonSyntaxReason } from "../lib/json_reason.ts";

/** A JSON file, or exit 2 naming it and why (never its contents). */
async function readJson(path: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    console.error(`compare_results: ${what} ${path}: cannot read (${(e as Error).name})`);
    Deno.exit(2);
  }
  try {
    const v = JSON.parse(text);
    if (v && typeof v === "object" && !Array.isArray(v)) return v;
    console.error(`compare_results: ${what} ${path}: not a JSON object`);
  } catch (e) {
    console.error(`compare_results: ${what} ${path}: invalid JSON: ${jsonSyntaxReason(e)}`);
  }
  Deno.exit(2);
}

const [expectedPath, actualPath, flag] = Deno.args;
if (!expectedPath || !actualPath) {
  console.error("usage: compare_results.ts <expected.json> <results.json> [--update]");
  Deno.exit(2);
}
const actual = await readJson(actualPath, "results");
if ("results" in actual && "tolerances" in actual) {
  console.error(
    `compare_results: ${actualPath} is an expectation (reports/expected/*.json), not a run's ` +
      "results.json; the second argument is a run's results.json (reports/<run>/results.json)",
  );
  Deno.exit(2);
}
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
const expected = await readJson(expectedPath, "expectation") as unknown as Expectation;
if (!expected.results || !expected.tolerances) {
  console.error(
    `compare_results: ${expectedPath} is not an expectation (no "results" and "tolerances"); ` +
      "the first argument is reports/expected/<name>.json",
  );
  Deno.exit(2);
}
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
