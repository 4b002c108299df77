import assert from "node:assert/strict";
import { Rng } from "../lib/rng.ts";
import type { CrossMatrixInput, ModelInfo, ModelTraits, StudyDesign, Table1Row } from "./input.ts";
import {
  classify,
  computeVerdicts,
  describeRule,
  type Rule,
  singleModelScope,
  untestedReason,
} from "./verdicts.ts";

const BN: ModelTraits = { norm: "bn", arch: "cnn", distilled: false };
const LN_CNN: ModelTraits = { norm: "ln", arch: "cnn", distilled: false };
const VIT: ModelTraits = { norm: "ln", arch: "transformer", distilled: false };
const VIT_DIS: ModelTraits = { norm: "ln", arch: "transformer", distilled: true };

const iv = { mean: 0, lo: 0, hi: 0 };
const quick = { bootstrap: { samples: 400, seed: 1, level: 0.95 } };

/**
 * A Table 1 row whose per-image values are the given means times a spread shared by every model
 * on the same image (image difficulty), times a small per-model noise.
 */
function row(model: string, n: number, sub: number, count: number, size: number, seed: number) {
  const shared = new Rng(99), own = new Rng(seed);
  const difficulty = Array.from({ length: n }, () => Math.exp(1.5 * (shared.next() - 0.5)));
  const around = (mu: number) =>
    difficulty.map((d) => Math.round(mu * d * (0.85 + 0.3 * own.next()) * 100) / 100);
  return {
    model,
    images: n,
    mse_count: iv,
    mse_size: iv,
    tree: { "0.5": iv },
    per_image: {
      image_ids: Array.from({ length: n }, (_, i) => `img${i}`),
      mse_count: around(count),
      mse_size: around(size) as (number | null)[],
      tree: { "0.5": around(sub) },
    },
  } satisfies Table1Row;
}

const models: ModelInfo[] = [
  { id: "bn1", group: "older", traits: BN },
  { id: "bn2", group: "older", traits: BN },
  { id: "cnx", group: "convnext", traits: LN_CNN },
  { id: "vit", group: "transformer", traits: VIT },
  { id: "vitd", group: "distilled", traits: VIT_DIS },
  { id: "other", group: "?" },
];

const above: Rule = { expect: "above", claim: 1, against: 1, noEffect: true };
const cutHalf: Rule = { expect: "below", claim: 0.5, against: 1, noEffect: true };
const keeps: Rule = { expect: "above", claim: 0.8, against: 0.8, noEffect: false };

Deno.test("classify: the four outcomes of a direction rule", () => {
  assert.equal(classify(1.2, 3, above), "replicates");
  assert.equal(classify(0.2, 0.9, above), "opposite");
  assert.equal(classify(0.85, 1.2, above), "no effect");
  assert.equal(classify(0.7, 1.3, above), "inconclusive");
  const below: Rule = { ...above, expect: "below" };
  assert.equal(classify(0.2, 0.9, below), "replicates");
  assert.equal(classify(1.1, 2, below), "opposite");
  assert.equal(classify(NaN, 2, below), "inconclusive");
  // Excluding 1 on the paper's side wins over lying inside the band.
  assert.equal(classify(1.05, 1.2, above), "replicates");
  // The band's edges belong to it.
  assert.equal(classify(0.8, 1.25, above), "no effect");
});

Deno.test("classify: a cut of at least half, and non-inferiority", () => {
  assert.equal(classify(0.1, 0.45, cutHalf), "replicates");
  assert.equal(classify(0.3, 0.7, cutHalf), "inconclusive"); // fewer, but not shown to halve
  assert.equal(classify(0.55, 0.9, cutHalf), "inconclusive");
  assert.equal(classify(1.1, 1.6, cutHalf), "opposite");
  assert.equal(classify(0.9, 1.1, cutHalf), "no effect");
  assert.equal(classify(0.9, 2.5, keeps), "replicates");
  assert.equal(classify(0.85, 1.2, keeps), "replicates"); // no effect is part of the claim
  assert.equal(classify(0.3, 0.7, keeps), "opposite");
  assert.equal(classify(0.6, 1.3, keeps), "inconclusive");
  assert.match(
    describeRule(cutHalf),
    /replicates if the interval lies wholly below 0.5; opposite if it lies wholly above 1; no effect if it lies within \[0.8, 1.25\]/,
  );
  assert.doesNotMatch(describeRule(keeps), /no effect/);
});

Deno.test("verdicts replicate on data shaped like the paper's, with n shown", () => {
  const rows = [
    row("bn1", 40, 300, 10, 6, 1),
    row("bn2", 40, 250, 9, 6.5, 2),
    row("cnx", 40, 4000, 7, 8, 3),
    row("vit", 40, 6000, 7.5, 8.5, 4),
    row("vitd", 40, 400, 10, 5.8, 5),
    row("other", 40, 1e6, 1, 1, 6),
  ];
  const vs = computeVerdicts(models, rows, quick);
  assert.deepEqual(vs.map((v) => v.id), [
    "subexpl-lngn-vs-bn",
    "mse-count-disjunctive",
    "mse-size-disjunctive",
    "distillation",
  ]);
  for (const v of vs) {
    assert.equal(v.outcome, "replicates", v.sentence);
    assert.ok(v.interval![0] <= v.estimate! && v.estimate! <= v.interval![1]);
    assert.match(v.sentence, /^Replicates: .*n = 40 images/);
    assert.equal(v.n.images, 40);
    assert.ok(!v.numerator.includes("other") && !v.denominator.includes("other"));
    assert.ok(v.secondary && Number.isFinite(v.secondary.estimate));
  }
  const [sub, , , dis] = vs;
  assert.deepEqual(sub.numerator, ["cnx", "vit"]);
  assert.deepEqual(sub.denominator, ["bn1", "bn2"]);
  assert.deepEqual(sub.n, { images: 40, models: 4 });
  // The ratio of geometric means of 1 + count, by hand.
  const l = (r: Table1Row) => r.per_image!.tree["0.5"]!.reduce((s, x) => s + Math.log1p(x), 0) / 40;
  const want = Math.exp((l(rows[2]) + l(rows[3])) / 2 - (l(rows[0]) + l(rows[1])) / 2);
  assert.ok(Math.abs(sub.estimate! - want) < 1e-9);
  // And the paper's ratio of means beside it.
  const m = (r: Table1Row) => r.per_image!.tree["0.5"]!.reduce((s, x) => s + x, 0) / 40;
  const am = ((m(rows[2]) + m(rows[3])) / 2) / ((m(rows[0]) + m(rows[1])) / 2);
  assert.ok(Math.abs(sub.secondary!.estimate - am) < 1e-9);
  assert.deepEqual(dis.numerator, ["vitd"]);
  assert.deepEqual(dis.denominator, ["vit"]);
});

Deno.test("verdicts say 'opposite' when the data point the other way", () => {
  const rows = [
    row("bn1", 40, 5000, 6, 9, 1),
    row("cnx", 40, 300, 10, 5, 3),
    row("vit", 40, 200, 10, 5, 4),
    row("vitd", 40, 2000, 6, 9, 5),
  ];
  for (const v of computeVerdicts(models, rows, quick)) {
    assert.equal(v.outcome, "opposite", v.sentence);
    assert.match(v.sentence, /^Opposite: .*other way/);
  }
});

Deno.test("equal groups give 'no effect'; missing or tiny groups are inconclusive", () => {
  // Every model the same per-image values: the interval is 1 exactly.
  const same = ["bn1", "cnx", "vit", "vitd"].map((id) => ({
    ...row(id, 12, 1000, 8, 7, 1),
    model: id,
  }));
  for (const v of computeVerdicts(models, same, quick)) {
    assert.equal(v.outcome, "no effect", v.sentence);
    assert.match(v.sentence, /^No effect: .*within \[0.8, 1.25\]/);
  }
  // No distilled transformer and no BN model: those verdicts cannot be tested.
  const noBn = computeVerdicts(models, [row("cnx", 8, 9, 9, 9, 1), row("vit", 8, 9, 9, 9, 2)]);
  const byId = Object.fromEntries(noBn.map((v) => [v.id, v]));
  assert.equal(byId["subexpl-lngn-vs-bn"].estimate, null);
  assert.equal(byId["subexpl-lngn-vs-bn"].outcome, "inconclusive");
  assert.match(byId["subexpl-lngn-vs-bn"].sentence, /no BN CNNs/);
  assert.match(byId["distillation"].sentence, /no distilled transformers/);
  const tiny = computeVerdicts(models, [row("bn1", 1, 1, 1, 1, 1), row("cnx", 1, 9, 9, 9, 2)]);
  assert.match(tiny[0].sentence, /only 1 image/);
});

Deno.test("images are resampled jointly by id; missing images (baseline suffices) stay missing", () => {
  const a = row("bn1", 10, 100, 10, 5, 1);
  const b = row("cnx", 10, 1000, 5, 10, 2);
  // bn1 lost images 0 and 1 to "baseline suffices"; cnx lost image 9.
  const drop = (r: Table1Row, keep: (i: number) => boolean) => {
    const p = r.per_image!;
    const f = <T>(xs: T[]) => xs.filter((_, i) => keep(i));
    r.per_image = {
      image_ids: f(p.image_ids!),
      mse_count: f(p.mse_count),
      mse_size: f(p.mse_size),
      tree: { "0.5": f(p.tree["0.5"]!) },
    };
  };
  drop(a, (i) => i > 1);
  drop(b, (i) => i < 9);
  a.per_image!.mse_size = a.per_image!.mse_size.map((v, i) => (i % 2 ? null : v));
  const vs = computeVerdicts(models, [a, b], quick);
  const sub = vs.find((v) => v.id === "subexpl-lngn-vs-bn")!;
  assert.equal(sub.n.images, 10); // the union of both models' images
  assert.equal(sub.outcome, "replicates", sub.sentence);
  const size = vs.find((v) => v.id === "mse-size-disjunctive")!;
  assert.ok(Number.isFinite(size.estimate!));
  assert.equal(size.outcome, "replicates", size.sentence);
});

const DESIGN: StudyDesign = {
  table1: {
    "older CNNs": ["bn1", "bn2"],
    ConvNeXt: ["cnx"],
    Transformers: ["vit"],
    "Transformers with distillation": ["vitd"],
  },
  normAblations: [
    { family: "ConvNeXt", models: { ln: "cnx", bn: "cnx-bn", gn: "cnx-gn" } },
    {
      family: "ViT",
      models: { ln: "vit", bn: "vit-bn", gn: "vit-gn" },
      paper: { ln: "Swin-T-4", bn: "Swin-T-4-BN", gn: "Swin-T-4-GN" },
    },
  ],
};

Deno.test("the design's groups, not the traits, form Table 1's groups", () => {
  // A BN ablation of ConvNeXt has BN CNN traits but is not one of the paper's Table 1 models.
  const all: ModelInfo[] = [...models, { id: "cnx-bn", group: "convnext", traits: BN }];
  const rows = ["bn1", "bn2", "cnx", "vit", "vitd", "cnx-bn"].map((id, k) =>
    row(id, 20, 500, 8, 7, k)
  );
  const [sub] = computeVerdicts(all, rows, { ...quick, design: DESIGN });
  assert.deepEqual(sub.denominator, ["bn1", "bn2"]);
  assert.match(sub.statement, /paper's Table 1 groups/);
  const [byTraits] = computeVerdicts(all, rows, quick);
  assert.deepEqual(byTraits.denominator, ["bn1", "bn2", "cnx-bn"]);
});

Deno.test("Table 2: BN cuts by half, GN keeps LN's count, each family on its own", () => {
  const rows = [
    row("cnx", 30, 2000, 8, 7, 1),
    row("cnx-bn", 30, 300, 8, 7, 2), // a cut to 0.15
    row("cnx-gn", 30, 2600, 8, 7, 3), // 1.3x: GN keeps it
    row("vit", 30, 500, 8, 7, 4),
    row("vit-bn", 30, 350, 8, 7, 5), // 0.7: fewer, not halved
    row("vit-gn", 30, 150, 8, 7, 6), // 0.3: GN cuts too
  ];
  const vs = computeVerdicts(models, rows, { ...quick, design: DESIGN });
  const by = Object.fromEntries(vs.map((v) => [v.id, v]));
  assert.equal(by["bn-cuts/ConvNeXt"].outcome, "replicates", by["bn-cuts/ConvNeXt"].sentence);
  assert.equal(by["gn-keeps/ConvNeXt"].outcome, "replicates", by["gn-keeps/ConvNeXt"].sentence);
  assert.equal(by["bn-cuts/ViT"].outcome, "inconclusive", by["bn-cuts/ViT"].sentence);
  assert.match(
    by["bn-cuts/ViT"].sentence,
    /fewer, but by less than the claim: the interval lies wholly between 0.5 and 1, so the claimed size is rejected at 95% while its direction holds/,
  );
  assert.equal(by["gn-keeps/ViT"].outcome, "opposite", by["gn-keeps/ViT"].sentence);
  assert.equal(by["bn-cuts/ViT"].source, "Table 2");
  assert.match(by["bn-cuts/ViT"].statement, /vit-bn \(the paper: Swin-T-4-BN\) over vit/);
  assert.deepEqual(by["bn-cuts/ViT"].n, { images: 30, models: 2 });
  // A declared model missing from the run makes its verdict untestable, not an error.
  const partial = computeVerdicts(models, rows.slice(0, 3), { ...quick, design: DESIGN });
  const missing = partial.find((v) => v.id === "bn-cuts/ViT")!;
  assert.equal(missing.outcome, "inconclusive");
  assert.match(missing.sentence, /no vit-bn/);
});

Deno.test("a verdict's sentence says when a replication is small and when a cut is not shown", () => {
  // MSE count: BN CNNs and the distilled ViT 1.05x the others, tightly: replicates, but small.
  const small = computeVerdicts(models, [
    row("bn1", 300, 500, 8.4, 7, 1),
    row("bn2", 300, 500, 8.4, 7, 2),
    row("cnx", 300, 500, 8, 7, 3),
    row("vit", 300, 500, 8, 7, 4),
    row("vitd", 300, 500, 8.4, 7, 5),
  ], quick).find((v) => v.id === "mse-count-disjunctive")!;
  const [lo, hi] = small.interval!;
  assert.ok(lo > 1 && hi < 1.25, `${lo} ${hi}`);
  assert.equal(small.outcome, "replicates");
  assert.match(small.sentence, /as the paper found, but the difference is small: .*\[0.8, 1.25\]/);
  // BN cuts ViT's count to about 0.5: the interval straddles the claim's bound.
  const vs = computeVerdicts(models, [
    row("vit", 30, 500, 8, 7, 4),
    row("vit-bn", 30, 250, 8, 7, 5),
  ], { ...quick, design: DESIGN });
  const cut = vs.find((v) => v.id === "bn-cuts/ViT")!;
  assert.ok(cut.interval![0] < 0.5 && cut.interval![1] > 0.5, JSON.stringify(cut.interval));
  assert.equal(cut.outcome, "inconclusive");
  assert.match(cut.sentence, /fewer, but not shown to be 0.5x or less/);
});

/** A cross-testing input from a per-image function s(source, tested, image). */
function crossInput(ids: string[], images: number, s: (a: number, b: number, i: number) => number) {
  const insertion = ids.map((_, a) =>
    ids.map((_, b) => Array.from({ length: images }, (_, i) => s(a, b, i)))
  );
  return {
    models: ids,
    insertion: insertion.map((r) => r.map((v) => v.reduce((x, y) => x + y, 0) / images)),
    per_image: { image_ids: Array.from({ length: images }, (_, i) => `i${i}`), insertion },
  } satisfies CrossMatrixInput;
}

const fam: ModelInfo[] = [
  { id: "a1", group: "A" },
  { id: "a2", group: "A" },
  { id: "b1", group: "B" },
  { id: "b2", group: "B" },
  { id: "c1", group: "C" },
];
const famIds = fam.map((m) => m.id);
const groupOf = (k: number) => fam[k].group;

Deno.test("cross-testing: family clusters and group asymmetry on constructed matrices", () => {
  const rng = new Rng(4);
  const noise = Array.from({ length: 5 * 5 * 20 }, () => 0.05 * rng.normal());
  const e = (a: number, b: number, i: number) => noise[(a * 5 + b) * 20 + i];
  // Within a family 0.8, between 0.5; heatmaps of A score 0.2 higher on B than B's on A.
  const clustered = crossInput(
    famIds,
    20,
    (a, b, i) =>
      (groupOf(a) === groupOf(b) ? 0.8 : 0.5) +
      (groupOf(a) === "A" && groupOf(b) === "B" ? 0.2 : 0) +
      e(a, b, i),
  );
  const [, , , , clusters, asym] = computeVerdicts(fam, [], { ...quick, cross: clustered });
  assert.equal(clusters.id, "cross-family-clusters");
  assert.equal(clusters.outcome, "replicates", clusters.sentence);
  assert.deepEqual(clusters.n, { images: 20, models: 5 });
  assert.match(clusters.sentence, /4 within and 16 between pairs/);
  assert.equal(asym.id, "group-matrix-asymmetry");
  assert.equal(asym.outcome, "replicates", asym.sentence);
  assert.ok(asym.test!.p < 0.05 && asym.estimate! > asym.test!.null_quantile);
  // A symmetric matrix with no family structure: no effect on clusters, asymmetry not shown.
  const flat = crossInput(famIds, 20, (a, b, i) => 0.6 + e(Math.min(a, b), Math.max(a, b), i));
  const [, , , , c2, a2] = computeVerdicts(fam, [], { ...quick, cross: flat });
  assert.equal(c2.outcome, "no effect", c2.sentence);
  assert.equal(a2.outcome, "inconclusive", a2.sentence);
  assert.match(a2.sentence, /no more asymmetric than image noise/);
  // Every model in its own family: no within-family pairs.
  const solo = fam.map((m) => ({ ...m, group: m.id }));
  const [, , , , c3] = computeVerdicts(solo, [], { ...quick, cross: clustered });
  assert.match(c3.sentence, /no group has two models/);
});

Deno.test("the same inputs and seed give the same verdicts; another seed other intervals", () => {
  const rows = [row("bn1", 15, 300, 10, 6, 1), row("cnx", 15, 900, 7, 8, 3)];
  const a = computeVerdicts(models, rows, quick);
  assert.deepEqual(computeVerdicts(models, rows, quick), a);
  const b = computeVerdicts(models, rows, { bootstrap: { ...quick.bootstrap, seed: 2 } });
  assert.notDeepEqual(a[0].interval, b[0].interval);
  assert.equal(a[0].estimate, b[0].estimate);
});

Deno.test("untestedReason and singleModelScope read the verdicts computeVerdicts writes", () => {
  const rows = [
    row("bn1", 30, 300, 10, 6, 1),
    row("bn2", 30, 300, 10, 6, 2),
    row("cnx", 30, 900, 7, 8, 3),
    row("vit", 30, 900, 7, 8, 4),
    row("vitd", 30, 300, 10, 6, 5),
    row("vit-bn", 30, 350, 8, 7, 6),
  ];
  // One image: the cross-testing verdicts are untestable.
  const cross = crossInput(["bn1", "bn2", "cnx", "vit", "vitd"], 1, () => 0.5);
  const vs = computeVerdicts(models, rows, { ...quick, design: DESIGN, cross });
  const by = Object.fromEntries(vs.map((v) => [v.id, v]));
  const scope = "model-to-model variation is not in the interval";
  // Groups of two and more on both sides: tested, about the groups.
  assert.equal(untestedReason(by["subexpl-lngn-vs-bn"]), undefined);
  assert.equal(singleModelScope(by["subexpl-lngn-vs-bn"]), undefined);
  // One distilled model over one undistilled; one BN ablation over its LN model.
  assert.equal(singleModelScope(by["distillation"]), `about these 2 models; ${scope}`);
  assert.equal(singleModelScope(by["bn-cuts/ViT"]), `about these 2 models; ${scope}`);
  // Declared but absent from the run: untested, with the reason its sentence gives.
  assert.equal(
    untestedReason(by["bn-cuts/ConvNeXt"]),
    "this run has no cnx-bn with per-image values",
  );
  assert.equal(singleModelScope(by["bn-cuts/ConvNeXt"]), undefined);
  assert.equal(
    untestedReason(by["cross-family-clusters"]),
    "only 1 image(s) have S for every pair",
  );
  assert.equal(
    untestedReason(by["group-matrix-asymmetry"]),
    "only 1 image(s) have S for every pair",
  );
});
