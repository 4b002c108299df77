import assert from "node:assert/strict";
import type { Verdict } from "./input.ts";
import { FEW_IMAGES, verdictSummary } from "./verdict_summary.ts";

/** A tested ratio verdict on `images` images, `num` vs `den` models. */
function tested(
  id: string,
  outcome: Verdict["outcome"],
  images: number,
  num = ["a1", "a2"],
  den = ["b1", "b2"],
  source = "Table 1",
): Verdict {
  return {
    id,
    source,
    finding: "f",
    statement: "s",
    statistic: "ratio of geometric means of (1 + value)",
    estimate: 1.5,
    interval: [1.2, 1.9],
    rule: "r",
    outcome,
    sentence: `${outcome}.`,
    n: { images, models: num.length + den.length },
    numerator: num,
    denominator: den,
  };
}

/** An untestable verdict, as report/verdicts.ts writes one. */
function untestable(id: string, reason: string, images = 0): Verdict {
  return {
    ...tested(id, "inconclusive", images, [], ["b1"]),
    estimate: null,
    interval: null,
    sentence: `Inconclusive: ${reason}.`,
  };
}

Deno.test("verdictSummary counts only tested findings and names the untested with why", () => {
  const s = verdictSummary([
    tested("t1", "replicates", 200),
    untestable("u1", "this run has no BN CNNs with per-image values"),
    untestable("u2", "only 1 image(s) have S for every pair", 1),
  ]);
  assert.match(
    s,
    /^1 finding tested on n = 200 images: 1 replicate, 0 opposite, 0 no effect, 0 inconclusive\./,
  );
  assert.match(
    s,
    /2 could not be tested \(.*\): u1: this run has no BN CNNs with per-image values; u2: only 1 image\(s\) have S for every pair\./,
  );
  // k = 1 tested verdict: 1 − 0.95 = 5%, not 1 − 0.95³ = 14%.
  assert.match(s, /about 5% of runs of 1 independent verdict would/);
  assert.doesNotMatch(s, /14%/);
});

Deno.test("verdictSummary with nothing testable claims no test and no interval", () => {
  const s = verdictSummary([untestable("u1", "no models"), untestable("u2", "few images", 2)]);
  assert.match(
    s,
    /^No finding could be tested on this run: all 2 \(the table shows them as inconclusive\) could not be tested: u1: no models; u2: few images\.$/,
  );
  assert.doesNotMatch(s, /tested on n =|multiplicity|Infinity/);
});

Deno.test("verdictSummary says few images only where a tested verdict has fewer than the cut", () => {
  const many = verdictSummary([
    tested("t1", "opposite", FEW_IMAGES),
    tested("t2", "opposite", 482),
  ]);
  assert.match(many, /^2 findings tested on n = 100 to 482 images/);
  assert.doesNotMatch(many, /this few images/);
  const few = verdictSummary([
    tested("t1", "opposite", 482),
    tested("c1", "replicates", 50),
    tested("c2", "replicates", 50),
    untestable("u", "no models", 3),
  ]);
  assert.match(
    few,
    /2 verdicts rest on fewer than 100 images \(c1, c2 \(50 images\)\): with this few/,
  );
  const all = verdictSummary([tested("t1", "opposite", 96), tested("c1", "replicates", 30)]);
  assert.match(all, /All 2 verdicts rest on fewer than 100 images: with this few images an/);
});

Deno.test("verdictSummary names the verdicts with a single model on a side", () => {
  const s = verdictSummary([
    tested("groups", "replicates", 200),
    tested("bn-cuts/ViT", "inconclusive", 200, ["vit-bn"], ["vit-ln"], "Table 2"),
    tested("distillation", "opposite", 200, ["vit-d"], ["vit", "vit-s1"]),
    tested("clusters", "replicates", 200, ["g: 1 models"], ["g: 1 models"], "cross-testing"),
  ]);
  assert.match(s, /2 verdicts have a single model on a side \(bn-cuts\/ViT, distillation\)/);
  assert.match(s, /they speak about these models, not their families/);
  const none = verdictSummary([tested("groups", "replicates", 200)]);
  assert.doesNotMatch(none, /single model/);
});
