import assert from "node:assert/strict";
import { methodsSummary } from "./glossary.ts";
import type { ReportInput } from "./input.ts";

const FIXTURE = new URL("../tests/fixtures/report_input.json", import.meta.url);

/** The fixture with igos-heatmaps' resolved parameters for `method`. */
function withMethod(method: string): ReportInput {
  const input: ReportInput = JSON.parse(Deno.readTextFileSync(FIXTURE));
  input.provenance!.stage_params = {
    "igos-heatmaps": { method, maskSize: 28, iterations: 10, steps: 10, riseMasks: 2000 },
  };
  return input;
}

Deno.test("the methods line states the heatmap method's own parameters", () => {
  const line = (method: string) =>
    methodsSummary(withMethod(method)).find((t) => t.startsWith("igos-heatmaps:"))!;
  const occ = line("occlusion");
  assert.match(occ, /^igos-heatmaps: a 28x28 occlusion heatmap per model and image on /);
  assert.match(occ, /\(a 4x4-cell window showing the baseline, moved 2 cells at a time/);
  assert.doesNotMatch(occ, /iterations|integration steps/);
  assert.match(
    line("igos++"),
    /iGOS\+\+ heatmap .*\(10 iterations of 10 integration steps; docs\/METHODS.md §3\)/,
  );
  assert.match(line("gradient"), /plain gradient heatmap .*\(one gradient per image/);
});
