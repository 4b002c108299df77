import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import { measureGradientRates, parseThroughput } from "./throughput.ts";
import { loadPipeline } from "./app.ts";
import { resolveModels } from "../runtime/registry.ts";

Deno.test("throughput files: rates, default, device; errors name the file and key", () => {
  const t = parseThroughput(
    { device: "1x H100", a: 10, default: 5, gradientCost: 2.5, "//": "comment" },
    "t.json",
  );
  assertEquals(t, { device: "1x H100", rates: { a: 10 }, default: 5, gradientCost: 2.5 });
  assertThrows(() => parseThroughput({ a: "fast" }, "t.json"), /t\.json: a: expected a number/);
  // A typo's rate is refused, not priced into 40-digit hours; a string value is not echoed.
  assertThrows(() => parseThroughput({ a: 1e-300 }, "t.json"), /from 0\.001 to 1e9, got 1e-300/);
  assertThrows(() => parseThroughput({ a: "secret" }, "t.json"), /got a string$/);
  assertThrows(() => parseThroughput([1], "t.json"), /t\.json/);
});

Deno.test("the gradient graph's rates are measured on the model's own graph", async () => {
  const root = new URL("..", import.meta.url).pathname;
  const { config } = await loadPipeline(`${root}configs/default.json`);
  const entry = config.models.find((m) => m.id === "cnn-bn-s1")!;
  const { models } = await resolveModels([entry], config.baseline, "test");
  const r = await measureGradientRates(models[0], config, 0.05);
  assert(Number.isFinite(r.gradient) && r.gradient > 0, `gradient rows/s ${r.gradient}`);
  assert(Number.isFinite(r.gradientForward) && r.gradientForward > 0);
});
