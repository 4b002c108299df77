import assert from "node:assert/strict";
import { heatmapMethod } from "./heatmap_method.ts";

const from = (params: Record<string, string>) => heatmapMethod((k) => params[k] ?? "?");

Deno.test("heatmapMethod states the parameters of the method used, and only those", () => {
  const igos = from({ method: "igos++", iterations: "10", steps: "20" });
  assert.deepEqual(igos, { name: "iGOS++", params: "10 iterations of 20 integration steps" });
  const occ = from({ method: "occlusion", iterations: "10", steps: "20" });
  assert.equal(occ.name, "occlusion");
  assert.match(occ.params, /^a 4x4-cell window showing the baseline, moved 2 cells at a time/);
  const rise = from({ method: "rise", riseMasks: "500", iterations: "10" });
  assert.match(rise.params, /^500 random masks on a 7x7 grid, each cell kept with probability 0.5/);
  assert.match(from({ method: "gradient" }).params, /^one gradient per image/);
  for (const h of [occ, rise, from({ method: "gradient", steps: "20" })]) {
    assert.doesNotMatch(h.params, /iteration|integration/);
  }
  // Not recorded: named as given, no invented parameters.
  assert.deepEqual(from({}), { name: "?", params: "" });
  assert.deepEqual(from({ method: "igos++" }), { name: "iGOS++", params: "" });
});
