import { assert, assertEquals, assertNotEquals } from "../tests/assert.ts";
import { deriveSeed, Rng } from "./rng.ts";

Deno.test("Rng is reproducible from its seed and differs across seeds", () => {
  const a = new Rng(7), b = new Rng(7), c = new Rng(8);
  const xs = Array.from({ length: 5 }, () => a.next());
  assertEquals(xs, Array.from({ length: 5 }, () => b.next()));
  assertNotEquals(xs, Array.from({ length: 5 }, () => c.next()));
});

Deno.test("Rng uniform and normal have the right moments", () => {
  const r = new Rng(1);
  let s = 0, s2 = 0, u = 0, outside = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    s += z;
    s2 += z * z;
    const x = r.next();
    u += x;
    if (!(x >= 0 && x < 1)) outside++;
  }
  assertEquals(outside, 0, "uniform draws in [0, 1)");
  assert(Math.abs(s / n) < 0.03, `normal mean ${s / n}`);
  assert(Math.abs(s2 / n - 1) < 0.05, `normal variance ${s2 / n}`);
  assert(Math.abs(u / n - 0.5) < 0.01, `uniform mean ${u / n}`);
});

Deno.test("deriveSeed depends on every label", () => {
  assertEquals(deriveSeed(1, "img", 3), deriveSeed(1, "img", 3));
  assertNotEquals(deriveSeed(1, "img", 3), deriveSeed(1, "img", 4));
  assertNotEquals(deriveSeed(1, "a", "bc"), deriveSeed(1, "ab", "c"));
});
