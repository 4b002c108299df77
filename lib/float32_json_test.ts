import { assert, assertEquals } from "../tests/assert.ts";
import { float32Json } from "./float32_json.ts";
import { Rng } from "./rng.ts";

Deno.test("float32Json reads back to the same float32 through JSON, in at most 9 digits", () => {
  const rng = new Rng(3);
  const values = Float32Array.from({ length: 5000 }, (_, k) => {
    const u = rng.next();
    return k % 3 === 0 ? u : k % 3 === 1 ? (u - 0.5) * 1e-6 : u * 1e6;
  });
  const back = Float32Array.from(JSON.parse(JSON.stringify(Array.from(values, float32Json))));
  assertEquals(back, values);
  for (const v of values) {
    const digits = String(float32Json(v)).replace(/^-?0?\.?0*|e.*$|\./g, "");
    assert(digits.length <= 9, `${v}: ${float32Json(v)}`);
  }
  assertEquals(float32Json(0.5), 0.5);
  assertEquals(float32Json(Math.fround(0.1)), 0.1);
  assertEquals(float32Json(0), 0);
});
