import assert from "node:assert/strict";
import { methodsSummary } from "./glossary.ts";
import { reportInputWithMethod as withMethod } from "../tests/fixtures/report_input_with_method.ts";

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
