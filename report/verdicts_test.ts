import assert from "node:assert/strict";
import { Rng } from "../lib/rng.ts";
import type { ModelInfo, ModelTraits, Table1Row } from "./input.ts";
import { classify, computeVerdicts, verdictSeed } from "./verdicts.ts";

const BN: ModelTraits = { norm: "bn", arch: "cnn", distilled: false };
const LN_CNN: ModelTraits = { norm: "ln", arch: "cnn", distilled: false };
const VIT: ModelTraits = { norm: "ln", arch: "transformer", distilled: false };
const VIT_DIS: ModelTraits = { norm: "ln", arch: "transformer", distilled: true };

const iv = { mean: 0, lo: 0, hi: 0 };

/** A Table 1 row whose per-image values are drawn around the given means. */
function row(model: string, n: number, sub: number, count: number, size: number, seed: number) {
  const rng = new Rng(seed);
  const around = (mu: number) => Array.from({ length: n }, () => mu * (0.7 + 0.6 * rng.next()));
  return {
    model,
    images: n,
    mse_count: iv,
    mse_size: iv,
    tree: { "0.5": iv },
    per_image: {
      mse_count: around(count),
      mse_size: around(size),
      tree: { "0.5": around(sub) },
    },
  } satisfies Table1Row;
}

const models: ModelInfo[] = [
  { id: "bn1", group: "BN", traits: BN },
  { id: "bn2", group: "BN", traits: BN },
  { id: "cnx", group: "ConvNeXt", traits: LN_CNN },
  { id: "vit", group: "T", traits: VIT },
  { id: "vitd", group: "TD", traits: VIT_DIS },
  { id: "other", group: "?" },
];

Deno.test("the default seed draws the stream the verdicts were published with", () => {
  // The first draws of the generator report/bootstrap.ts had, mulberry32 from state 20240617.
  const rng = new Rng(verdictSeed(0));
  assert.deepEqual([rng.next(), rng.next(), rng.next()], [
    0.38737757317721844,
    0.8306204448454082,
    0.9938157743308693,
  ]);
});

Deno.test("classify against the expected side of 1", () => {
  assert.equal(classify(1.2, 3, "above1"), true);
  assert.equal(classify(0.2, 0.9, "above1"), false);
  assert.equal(classify(0.8, 1.3, "above1"), "inconclusive");
  assert.equal(classify(0.2, 0.9, "below1"), true);
  assert.equal(classify(1.1, 2, "below1"), false);
  assert.equal(classify(NaN, 2, "below1"), "inconclusive");
});

Deno.test("verdicts replicate on data shaped like the paper's", () => {
  const rows = [
    row("bn1", 40, 300, 10, 6, 1),
    row("bn2", 40, 250, 9, 6.5, 2),
    row("cnx", 40, 4000, 7, 8, 3),
    row("vit", 40, 6000, 7.5, 8.5, 4),
    row("vitd", 40, 400, 10, 5.8, 5),
    row("other", 40, 1e6, 1, 1, 6),
  ];
  const vs = computeVerdicts(models, rows, { bootstrap: { samples: 400, seed: 1, level: 0.95 } });
  assert.deepEqual(vs.map((v) => v.id), [
    "subexpl-lngn-vs-bn",
    "mse-count-disjunctive",
    "mse-size-disjunctive",
    "distillation",
  ]);
  for (const v of vs) {
    assert.equal(v.replicates, true, v.sentence);
    assert.ok(v.interval![0] <= v.estimate! && v.estimate! <= v.interval![1]);
    assert.match(v.sentence, /^Replicates: /);
    assert.ok(!v.numerator.includes("other") && !v.denominator.includes("other"));
  }
  const [sub, , , dis] = vs;
  assert.deepEqual(sub.numerator, ["cnx", "vit"]);
  assert.deepEqual(sub.denominator, ["bn1", "bn2"]);
  // Ratio of group means computed by hand.
  const m = (r: Table1Row) => r.per_image!.tree["0.5"]!.reduce((s, x) => s + x, 0) / 40;
  const want = ((m(rows[2]) + m(rows[3])) / 2) / ((m(rows[0]) + m(rows[1])) / 2);
  assert.ok(Math.abs(sub.estimate! - want) < 1e-9);
  assert.deepEqual(dis.numerator, ["vitd"]);
  assert.deepEqual(dis.denominator, ["vit"]);
});

Deno.test("verdicts say 'does not replicate' when the data point the other way", () => {
  const rows = [
    row("bn1", 40, 5000, 6, 9, 1),
    row("cnx", 40, 300, 10, 5, 3),
    row("vit", 40, 200, 10, 5, 4),
    row("vitd", 40, 2000, 6, 9, 5),
  ];
  const vs = computeVerdicts(models, rows, { bootstrap: { samples: 400, seed: 2, level: 0.95 } });
  for (const v of vs) {
    assert.equal(v.replicates, false, v.sentence);
    assert.match(v.sentence, /^Does not replicate: .*opposite/);
  }
});

Deno.test("verdicts are inconclusive when groups are equal, missing, or too small", () => {
  const same = [
    row("bn1", 8, 1000, 8, 7, 1),
    row("cnx", 8, 1000, 8, 7, 2),
    row("vit", 8, 1000, 8, 7, 3),
    row("vitd", 8, 1000, 8, 7, 4),
  ];
  for (
    const v of computeVerdicts(models, same, { bootstrap: { samples: 400, seed: 3, level: 0.95 } })
  ) {
    assert.equal(v.replicates, "inconclusive", v.sentence);
    assert.match(v.sentence, /includes 1/);
  }
  // No distilled transformer and no BN model: those verdicts cannot be tested.
  const noBn = computeVerdicts(models, [row("cnx", 8, 9, 9, 9, 1), row("vit", 8, 9, 9, 9, 2)]);
  const byId = Object.fromEntries(noBn.map((v) => [v.id, v]));
  assert.equal(byId["subexpl-lngn-vs-bn"].estimate, null);
  assert.match(byId["subexpl-lngn-vs-bn"].sentence, /no BN CNNs/);
  assert.match(byId["distillation"].sentence, /no distilled transformers/);
  const tiny = computeVerdicts(models, [row("bn1", 1, 1, 1, 1, 1), row("cnx", 1, 9, 9, 9, 2)]);
  assert.match(tiny[0].sentence, /only 1 image/);
});

Deno.test("mse_size nulls (images without MSEs) are skipped", () => {
  const a = row("bn1", 10, 100, 10, 5, 1);
  const b = row("cnx", 10, 1000, 5, 10, 2);
  a.per_image.mse_size = a.per_image.mse_size.map((v, i) => (i % 2 ? null : v)) as number[];
  const v = computeVerdicts(models, [a, b], { bootstrap: { samples: 200, seed: 1, level: 0.95 } })
    .find((x) => x.id === "mse-size-disjunctive")!;
  assert.ok(Number.isFinite(v.estimate!));
  assert.equal(v.replicates, true, v.sentence);
});
