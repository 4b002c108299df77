import { assertEquals, assertThrows } from "../tests/assert.ts";
import { parseThroughput } from "./throughput.ts";

Deno.test("throughput files: rates, default, device; errors name the file and key", () => {
  const t = parseThroughput(
    { device: "1x H100", a: 10, default: 5, gradientCost: 2.5, "//": "comment" },
    "t.json",
  );
  assertEquals(t, { device: "1x H100", rates: { a: 10 }, default: 5, gradientCost: 2.5 });
  assertThrows(() => parseThroughput({ a: "fast" }, "t.json"), /t\.json: a: expected a positive/);
  assertThrows(() => parseThroughput([1], "t.json"), /t\.json/);
});
