import { assert, assertEquals } from "../tests/assert.ts";
import { quantile } from "../explain/stats.ts";
import { Rng } from "../lib/rng.ts";
import { agreement, cases, handQuantile } from "./stats.ts";

Deno.test("mathjs quantileSeq gives the replaced hand-written quantile bit for bit", () => {
  const rng = new Rng(3);
  for (const n of [1, 2, 7, 2000]) {
    const sorted = Float64Array.from({ length: n }, () => rng.normal() * 1e3).sort();
    for (const q of [0, 0.025, 0.1, 0.25, 0.5, 0.9, 0.975, 1, rng.next()]) {
      assert(Object.is(quantile(sorted, q), handQuantile(sorted, q)), `n=${n} q=${q}`);
    }
  }
});

Deno.test("bench/stats.ts: its loop is the module's, and every variant's intervals agree", () => {
  for (const c of cases(200)) {
    const a = agreement(c);
    if (c.module) assert(a.loopMatchesModule, c.name);
    for (const [name, v] of Object.entries(a.variants)) {
      assertEquals(
        v,
        { sameBytesTwice: true, identical: true, maxRelDiff: 0 },
        `${c.name} ${name}`,
      );
    }
  }
});
