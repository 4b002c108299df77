import { assert, assertEquals } from "../tests/assert.ts";
import { Rng } from "../lib/rng.ts";
import { computeVerdicts, type Rule } from "../report/verdicts.ts";
import type { ModelInfo, Table1Row } from "../report/input.ts";
import {
  ladder,
  projectDecision,
  restrictRows,
  ruleOf,
  type RunInput,
  verdictPower,
} from "./verdict_power.ts";

const above: Rule = { expect: "above", claim: 1, against: 1, noEffect: true };
const cutHalf: Rule = { expect: "below", claim: 0.5, against: 1, noEffect: true };
const iv = { mean: 0, lo: 0, hi: 0 };

/** A row of `n` images named img000.., sub-explanations around `sub` with shared difficulty. */
function row(model: string, n: number, sub: number, seed: number): Table1Row {
  const shared = new Rng(7), own = new Rng(seed);
  const values = Array.from({ length: n }, () => {
    const d = Math.exp(shared.next() - 0.5);
    return Math.round(sub * d * (0.8 + 0.4 * own.next()));
  });
  return {
    model,
    images: n,
    mse_count: iv,
    mse_size: iv,
    tree: { "0.5": iv },
    per_image: {
      image_ids: Array.from({ length: n }, (_, i) => `img${String(i).padStart(3, "0")}`),
      mse_count: values.map((v) => 1 + (v % 3)),
      mse_size: values.map((v) => 2 + (v % 5)),
      tree: { "0.5": values },
    },
  };
}

const models: ModelInfo[] = [
  { id: "bn", group: "older", traits: { norm: "bn", arch: "cnn", distilled: false } },
  {
    id: "vit",
    group: "transformer",
    traits: { norm: "ln", arch: "transformer", distilled: false },
  },
];

Deno.test("projectDecision: an interval narrowing as 1/√n decides where it leaves the bound", () => {
  // Estimate 2, interval [0.5, 8] at n = 10: the lower half-width is 2 ln 2 and must shrink below
  // ln 2, so √(10/n) < 1/2, n > 40.
  assertEquals(projectDecision(2, [0.5, 8], 10, above), { n: 41, outcome: "replicates" });
  // Already decided at n0: the projection gives the smallest n that still decides.
  assertEquals(projectDecision(2, [1.5, 3], 100, above)?.outcome, "replicates");
  assert(projectDecision(2, [1.5, 3], 100, above)!.n < 100);
  // An estimate between a cut of half and no effect never decides.
  assertEquals(projectDecision(0.7, [0.3, 1.6], 10, cutHalf), null);
  // Near 1 it ends inside the no-effect band.
  assertEquals(projectDecision(1, [0.5, 2], 10, above)?.outcome, "no effect");
});

Deno.test("ladder: the rungs below the run's count, then the count", () => {
  assertEquals(ladder(45, [10, 20, 50]), [10, 20, 45]);
  assertEquals(ladder(10, [10, 20]), [10]);
});

Deno.test("restrictRows keeps each value with its image", () => {
  const r = row("bn", 6, 10, 1);
  const [cut] = restrictRows([r], new Set(["img001", "img004"]));
  assertEquals(cut.images, 2);
  assertEquals(cut.per_image!.image_ids, ["img001", "img004"]);
  assertEquals(cut.per_image!.tree["0.5"], [
    r.per_image!.tree["0.5"]![1],
    r.per_image!.tree["0.5"]![4],
  ]);
  assertEquals(cut.per_image!.mse_size, [r.per_image!.mse_size[1], r.per_image!.mse_size[4]]);
});

Deno.test("verdictPower: the first n images give the verdicts a run of n images gives", () => {
  const rows = [row("bn", 40, 4, 1), row("vit", 40, 12, 2)];
  const input: RunInput = {
    table1: rows,
    provenance: {
      models,
      stage_params: { report: { bootstrap: 400, seed: 3 } },
      stages: [],
    },
  };
  const power = verdictPower(input, [10, 20]);
  const lngn = power.find((p) => p.id === "subexpl-lngn-vs-bn")!;
  assertEquals(lngn.points.map((p) => p.n), [10, 20, 40]);
  const small = computeVerdicts(models, [row("bn", 10, 4, 1), row("vit", 10, 12, 2)], {
    bootstrap: { samples: 400, seed: 3, level: 0.95 },
  }).find((v) => v.id === "subexpl-lngn-vs-bn")!;
  assertEquals(lngn.points[0].estimate, small.estimate);
  assertEquals(lngn.points[0].interval, small.interval);
  assertEquals(lngn.points[2].outcome, "replicates");
  assert(lngn.points[2].log_width! < lngn.points[0].log_width!);
  assertEquals(ruleOf(small), above);
  assertEquals(lngn.projected?.outcome, "replicates");
});
