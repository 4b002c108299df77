/**
 * Mini-replication verdicts (METHODS §7): each of the paper's findings as a statistic declared
 * before the data, a 95% interval from resampling images jointly across models, and one of four
 * outcomes by a rule also declared beforehand. Table 1 and Table 2 findings compare groups of
 * models by the ratio of geometric means of 1 + count (heavy-tailed counts: one image with
 * 777,478 tree nodes swayed the ratio of means from 0.05 to 1.60 when the beam width changed);
 * the paper's ratio of means is kept beside it. Cross-testing findings come from the per-image
 * normalised insertion AUCs behind S. The report stage computes them into its cached input; the
 * renderer only shows them.
 */
import {
  alignImages,
  type BootstrapOptions,
  defaults as bootstrapDefaults,
  flipTest,
  geometricMeanRatio,
  jointBootstrap,
  type JointEstimate,
  meanRatio,
  type Series,
} from "../explain/stats.ts";
import { deriveSeed } from "../lib/rng.ts";
import type {
  CrossMatrixInput,
  ModelInfo,
  Outcome,
  StudyDesign,
  Table1Row,
  Threshold,
  Verdict,
} from "./input.ts";
import { PAPER_GROUPS } from "./paper.ts";

export interface VerdictOptions {
  /** Resamples, level, and the report's seed (the verdicts draw from their own stream of it). */
  bootstrap: BootstrapOptions;
  /** Threshold of the sub-explanation count compared (the paper's strongest column is >= 0.5). */
  threshold: Threshold;
  /** A model with fewer images than this (with a value) makes its verdict untestable. */
  minImages: number;
  /** An interval inside this band is "no effect" (a 20% margin either way on the ratio scale). */
  noEffect: [number, number];
}

export const defaults: VerdictOptions = {
  bootstrap: bootstrapDefaults,
  threshold: "0.5",
  minImages: 2,
  noEffect: [0.8, 1.25],
};

/**
 * The verdicts' own stream of the report's seed: `seed` XOR this constant; each verdict then
 * derives its own seed from it and its id, so adding a verdict leaves the others' draws alone.
 */
const VERDICT_STREAM = 0x9f03a150;

/** The seed the verdicts' resampling derives from, given the report's seed. */
export function verdictSeed(seed: number): number {
  return (seed ^ VERDICT_STREAM) >>> 0;
}

/**
 * A decision rule on an interval [lo, hi] of a ratio. `replicates`: the interval lies wholly on
 * the paper's side of `claim`; `opposite`: wholly on the other side of `against`; `no effect`
 * (when `noEffect`): inside the no-effect band; `inconclusive`: anything else.
 */
export interface Rule {
  expect: "above" | "below";
  claim: number;
  against: number;
  /** False where no effect is part of the claim (GN keeps LN's count). */
  noEffect: boolean;
}

/** The paper's direction: the ratio is above (below) 1, the opposite below (above) 1. */
const direction = (expect: "above" | "below"): Rule => ({
  expect,
  claim: 1,
  against: 1,
  noEffect: true,
});

/** Replacing LN with BN cuts the count by at least half; the opposite is BN above LN. */
const CUT_HALF: Rule = { expect: "below", claim: 0.5, against: 1, noEffect: true };

/** GN keeps at least 80% of LN's count (as much or more, as the paper's 1.65x and 2.42x). */
const KEEPS: Rule = { expect: "above", claim: 0.8, against: 0.8, noEffect: false };

/** The outcome of an interval under a rule. */
export function classify(
  lo: number,
  hi: number,
  rule: Rule,
  band: [number, number] = defaults.noEffect,
): Outcome {
  if (!(lo <= hi)) return "inconclusive";
  if (rule.expect === "above") {
    if (lo > rule.claim) return "replicates";
    if (hi < rule.against) return "opposite";
  } else {
    if (hi < rule.claim) return "replicates";
    if (lo > rule.against) return "opposite";
  }
  if (rule.noEffect && lo >= band[0] && hi <= band[1]) return "no effect";
  return "inconclusive";
}

/** The rule in words, for the report. */
export function describeRule(rule: Rule, band: [number, number] = defaults.noEffect): string {
  const side = (e: "above" | "below", x: number) => `lies wholly ${e} ${fmt(x)}`;
  const other = rule.expect === "above" ? "below" : "above";
  const parts = [
    `replicates if the interval ${side(rule.expect, rule.claim)}`,
    `opposite if it ${side(other, rule.against)}`,
  ];
  if (rule.noEffect) parts.push(`no effect if it lies within [${band[0]}, ${band[1]}]`);
  parts.push("inconclusive otherwise");
  return parts.join("; ");
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : String(Number(x.toPrecision(3))));

type Metric = (row: Table1Row, o: VerdictOptions) => (number | null)[] | undefined;

const subExpl: Metric = (row, o) => row.per_image?.tree[o.threshold];
const mseCount: Metric = (row) => row.per_image?.mse_count;
const mseSize: Metric = (row) => row.per_image?.mse_size;

/** A finding that compares two groups of models on a per-image Table 1 quantity. */
interface RatioSpec {
  id: string;
  source: "Table 1" | "Table 2";
  finding: string;
  statement: string;
  numName: string;
  denName: string;
  quantity: string;
  metric: Metric;
  num: string[];
  den: string[];
  rule: Rule;
}

/** The model groups Table 1's findings compare. */
interface Table1Groups {
  bnCnn: string[];
  compositional: string[];
  distilled: string[];
  undistilled: string[];
  /** How the groups were formed, for the statement. */
  basis: string;
}

/**
 * From the design's map of the paper's Table 1 groups when the config declares one; otherwise
 * from the model cards' traits (norm, architecture, distillation).
 */
function table1Groups(models: ModelInfo[], design?: StudyDesign): Table1Groups {
  const t = design?.table1;
  if (t && Object.keys(t).length) {
    const g = (...names: string[]) => names.flatMap((n) => t[n] ?? []);
    const [older, newer, convnext, transformers, distilled] = PAPER_GROUPS;
    return {
      bnCnn: g(older, newer),
      compositional: g(convnext, transformers),
      distilled: g(distilled),
      undistilled: g(transformers),
      basis: "the paper's Table 1 groups, as the config maps them",
    };
  }
  const ids = (pred: (m: ModelInfo) => boolean) => models.filter(pred).map((m) => m.id);
  const tr = (m: ModelInfo) => m.traits;
  return {
    bnCnn: ids((m) => tr(m)?.norm === "bn" && tr(m)?.arch === "cnn"),
    compositional: ids((m) =>
      !!tr(m) && (tr(m)!.norm === "ln" || tr(m)!.norm === "gn") && !tr(m)!.distilled
    ),
    distilled: ids((m) => tr(m)?.arch === "transformer" && !!tr(m)?.distilled),
    undistilled: ids((m) => tr(m)?.arch === "transformer" && !tr(m)?.distilled),
    basis: "the model cards' traits (norm, architecture, distillation)",
  };
}

const GEOMETRIC = "ratio of geometric means of (1 + value)";

function ratioSpecs(models: ModelInfo[], o: VerdictOptions, design?: StudyDesign): RatioSpec[] {
  const g = table1Groups(models, design);
  const sub = `sub-explanations (r ≥ ${o.threshold}, tree count)`;
  const specs: RatioSpec[] = [
    {
      id: "subexpl-lngn-vs-bn",
      source: "Table 1",
      finding:
        "LN/GN models (ConvNeXt, undistilled transformers) have far more sub-explanations than BN CNNs.",
      statement: `The ${GEOMETRIC} of ${sub} per image, ConvNeXt and undistilled transformers ` +
        `over BN CNNs, is above 1. Groups: ${g.basis}.`,
      numName: "ConvNeXt and undistilled transformers",
      denName: "BN CNNs",
      quantity: sub,
      metric: subExpl,
      num: g.compositional,
      den: g.bnCnn,
      rule: direction("above"),
    },
    {
      id: "mse-count-disjunctive",
      source: "Table 1",
      finding: "BN CNNs and distilled transformers have more MSEs than LN/GN models.",
      statement: `The ${GEOMETRIC} of MSEs per image, BN CNNs and distilled transformers over ` +
        `ConvNeXt and undistilled transformers, is above 1. Groups: ${g.basis}.`,
      numName: "BN CNNs and distilled transformers",
      denName: "ConvNeXt and undistilled transformers",
      quantity: "MSEs per image",
      metric: mseCount,
      num: [...g.bnCnn, ...g.distilled],
      den: g.compositional,
      rule: direction("above"),
    },
    {
      id: "mse-size-disjunctive",
      source: "Table 1",
      finding: "BN CNNs and distilled transformers have smaller MSEs than LN/GN models.",
      statement: `The ${GEOMETRIC} of mean MSE size per image, BN CNNs and distilled ` +
        `transformers over ConvNeXt and undistilled transformers, is below 1. Groups: ${g.basis}.`,
      numName: "BN CNNs and distilled transformers",
      denName: "ConvNeXt and undistilled transformers",
      quantity: "patches per MSE",
      metric: mseSize,
      num: [...g.bnCnn, ...g.distilled],
      den: g.compositional,
      rule: direction("below"),
    },
    {
      id: "distillation",
      source: "Table 1",
      finding: "Distilled transformers have far fewer sub-explanations than undistilled ones.",
      statement: `The ${GEOMETRIC} of ${sub} per image, distilled over undistilled ` +
        `transformers, is below 1. Groups: ${g.basis}.`,
      numName: "distilled transformers",
      denName: "undistilled transformers",
      quantity: sub,
      metric: subExpl,
      num: g.distilled,
      den: g.undistilled,
      rule: direction("below"),
    },
  ];
  for (const a of design?.normAblations ?? []) {
    const m = a.models;
    const paper = (k: "ln" | "gn" | "bn") => (a.paper?.[k] ? ` (the paper: ${a.paper[k]})` : "");
    if (m.bn) {
      specs.push({
        id: `bn-cuts/${a.family}`,
        source: "Table 2",
        finding: "Replacing LN with BN cuts sub-explanations (r ≥ 0.5) by 50% or more.",
        statement: `${a.family}: the ${GEOMETRIC} of ${sub} per image, ${m.bn}${paper("bn")} ` +
          `over ${m.ln}${paper("ln")}, is below 0.5.`,
        numName: m.bn,
        denName: m.ln,
        quantity: sub,
        metric: subExpl,
        num: [m.bn],
        den: [m.ln],
        rule: CUT_HALF,
      });
    }
    if (m.gn) {
      specs.push({
        id: `gn-keeps/${a.family}`,
        source: "Table 2",
        finding: "GroupNorm behaves like LayerNorm: it keeps the sub-explanations BN cuts.",
        statement: `${a.family}: the ${GEOMETRIC} of ${sub} per image, ${m.gn}${paper("gn")} ` +
          `over ${m.ln}${paper("ln")}, is above 0.8 (non-inferiority: GN has at least 80% ` +
          `of LN's count, or more, as in the paper).`,
        numName: m.gn,
        denName: m.ln,
        quantity: sub,
        metric: subExpl,
        num: [m.gn],
        den: [m.ln],
        rule: KEEPS,
      });
    }
  }
  return specs;
}

interface Untestable {
  id: string;
  source: string;
  finding: string;
  statement: string;
  statistic: string;
  rule: Rule;
}

function untestable(
  s: Untestable,
  o: VerdictOptions,
  reason: string,
  n: Verdict["n"],
  num: string[],
  den: string[],
): Verdict {
  return {
    id: s.id,
    source: s.source,
    finding: s.finding,
    statement: s.statement,
    statistic: s.statistic,
    estimate: null,
    interval: null,
    rule: describeRule(s.rule, o.noEffect),
    outcome: "inconclusive",
    sentence: `Inconclusive: ${reason}.`,
    n,
    numerator: num,
    denominator: den,
  };
}

/** Why a verdict could not be tested (it has no estimate), or undefined where it was tested. */
export function untestedReason(v: Verdict): string | undefined {
  if (v.estimate !== null) return undefined;
  // `untestable` and the asymmetry verdict write "Inconclusive: <reason>.".
  return v.sentence.replace(/^Inconclusive: /, "").replace(/\.$/, "");
}

/**
 * What a tested Table 1 or Table 2 verdict with a single model on a side speaks about (METHODS
 * §7): the bootstrap resamples images, not models, so such a verdict is about these models, not
 * their families. Undefined otherwise; cross-testing verdicts compare pairs of models, not sides.
 */
export function singleModelScope(v: Verdict): string | undefined {
  if (v.estimate === null || v.source === "cross-testing") return undefined;
  if (v.numerator.length !== 1 && v.denominator.length !== 1) return undefined;
  return `about these ${v.numerator.length + v.denominator.length} models; model-to-model ` +
    `variation is not in the interval`;
}

/** The sentence of a ratio verdict, which says the outcome either way. */
function ratioSentence(
  outcome: Outcome,
  what: string,
  rule: Rule,
  o: VerdictOptions,
  lo: number,
  hi: number,
): string {
  const band = `[${o.noEffect[0]}, ${o.noEffect[1]}]`;
  const pct = Math.round(o.bootstrap.level * 100);
  switch (outcome) {
    case "replicates":
      // The rule puts the paper's side first; a difference that small is still said to be small.
      return lo >= o.noEffect[0] && hi <= o.noEffect[1] && rule.noEffect
        ? `Replicates: ${what}, as the paper found, but the difference is small: the interval ` +
          `also lies within ${band}.`
        : `Replicates: ${what}, as the paper found.`;
    case "opposite":
      return `Opposite: ${what}, the other way from the paper's finding.`;
    case "no effect":
      return `No effect: ${what}; the interval lies within ${band}, so the difference the ` +
        `paper reports is absent here.`;
    default: {
      const fewer = !(rule.expect === "below" && rule.claim < 1 && hi < 1)
        ? ""
        : lo > rule.claim
        ? `; fewer, but by less than the claim: the interval lies wholly between ` +
          `${fmt(rule.claim)} and 1, so the claimed size is rejected at ${pct}% while its ` +
          `direction holds`
        : `; fewer, but not shown to be ${fmt(rule.claim)}x or less`;
      return `Inconclusive: ${what}${fewer}; the interval neither lies wholly on the paper's ` +
        `side of ${fmt(rule.claim)} nor ${rule.noEffect ? `within ${band}` : "on the other side"}.`;
    }
  }
}

function ratioVerdict(
  s: RatioSpec,
  rows: Map<string, Table1Row>,
  o: VerdictOptions,
): Verdict {
  const head = { ...s, statistic: GEOMETRIC };
  const has = (id: string) => rows.has(id) && !!s.metric(rows.get(id)!, o);
  const num = s.num.filter(has), den = s.den.filter(has);
  const n0 = { images: 0, models: num.length + den.length };
  if (num.length === 0 || den.length === 0) {
    const missing = num.length === 0 ? s.numName : s.denName;
    return untestable(head, o, `this run has no ${missing} with per-image values`, n0, num, den);
  }
  const { ids, series } = alignImages([...num, ...den].map((id) => {
    const r = rows.get(id)!;
    const values = s.metric(r, o)!;
    return { ids: r.per_image?.image_ids ?? values.map((_, i) => String(i)), values };
  }));
  const n = { images: ids.length, models: num.length + den.length };
  const fewest = Math.min(...series.map((x) => x.filter((v) => v !== null).length));
  if (fewest < o.minImages) {
    const reason = `a model has only ${fewest} image(s) with a value, fewer than ${o.minImages}`;
    return untestable(head, o, reason, n, num, den);
  }
  const seed = deriveSeed(verdictSeed(o.bootstrap.seed), s.id);
  const numS = series.slice(0, num.length), denS = series.slice(num.length);
  const gm = geometricMeanRatio(numS, denS, { ...o.bootstrap, seed });
  const am = meanRatio(numS, denS, { ...o.bootstrap, seed });
  const outcome = classify(gm.lo, gm.hi, s.rule, o.noEffect);
  const pct = Math.round(o.bootstrap.level * 100);
  // A Table 2 verdict compares one model with one: "vit-bn has", "BN CNNs have".
  const verb = s.num.length === 1 && s.source === "Table 2" ? "has" : "have";
  const what = `${s.numName} ${verb} ${fmt(gm.estimate)}x the ${s.quantity} of ${s.denName} ` +
    `(geometric means; ${pct}% CI ${fmt(gm.lo)} to ${fmt(gm.hi)}; n = ${n.images} images, ` +
    `${num.length} vs ${den.length} model${den.length + num.length > 2 ? "s" : ""})`;
  return {
    id: s.id,
    source: s.source,
    finding: s.finding,
    statement: s.statement,
    statistic: GEOMETRIC,
    estimate: gm.estimate,
    interval: [gm.lo, gm.hi],
    rule: describeRule(s.rule, o.noEffect),
    outcome,
    sentence: ratioSentence(outcome, what, s.rule, o, gm.lo, gm.hi),
    n,
    numerator: num,
    denominator: den,
    ...(Number.isFinite(am.estimate)
      ? {
        secondary: {
          statistic: "ratio of arithmetic means (the paper's)",
          estimate: am.estimate,
          interval: [am.lo, am.hi] as [number, number],
        },
      }
      : {}),
  };
}

/** Per-image S on the images every pair of the given models has, with each model's group. */
function crossData(cm: CrossMatrixInput, models: ModelInfo[]) {
  const group = new Map(models.map((m) => [m.id, m.group]));
  const pi = cm.per_image!;
  const idx = cm.models.map((id, k) => [id, k] as const).filter(([id]) => group.has(id));
  const images = pi.image_ids.map((_, i) => i).filter((i) =>
    idx.every(([, a]) => idx.every(([, b]) => pi.insertion[a][b][i] !== null))
  );
  const value = (a: number, b: number, i: number) => pi.insertion[a][b][i] as number;
  return { idx, images, value, groupOf: (k: number) => group.get(cm.models[k])! };
}

const CLUSTERS = {
  id: "cross-family-clusters",
  source: "cross-testing",
  finding:
    "Cross-testing clusters models by family: heatmaps transfer better within a family than between families.",
  statement:
    "The ratio of mean S over ordered pairs of distinct models in the same group to mean " +
    "S over pairs in different groups (groups as in the group matrix, Fig. 8) is above 1.",
  statistic: "ratio of mean S, within-family pairs over between-family pairs",
  rule: direction("above"),
};

function clustersVerdict(cm: CrossMatrixInput, models: ModelInfo[], o: VerdictOptions): Verdict {
  const { idx, images, value, groupOf } = crossData(cm, models);
  const within: [number, number][] = [], between: [number, number][] = [];
  for (const [, a] of idx) {
    for (const [, b] of idx) {
      if (a !== b) (groupOf(a) === groupOf(b) ? within : between).push([a, b]);
    }
  }
  const families = [...new Set(idx.map(([, k]) => groupOf(k)))];
  const label = (g: string) => `${g}: ${idx.filter(([, k]) => groupOf(k) === g).length} models`;
  const num = families.filter((g) => idx.filter(([, k]) => groupOf(k) === g).length > 1).map(label);
  const den = families.map(label);
  const n = { images: images.length, models: idx.length };
  if (!within.length || !between.length) {
    const reason = within.length
      ? "every model is in one group"
      : "no group has two models, so there are no within-family pairs";
    return untestable(CLUSTERS, o, reason, n, num, den);
  }
  if (images.length < o.minImages) {
    const reason = `only ${images.length} image(s) have S for every pair`;
    return untestable(CLUSTERS, o, reason, n, num, den);
  }
  const perImage = (pairs: [number, number][]): Series =>
    images.map((i) => pairs.reduce((s, [a, b]) => s + value(a, b, i), 0) / pairs.length);
  const seed = deriveSeed(verdictSeed(o.bootstrap.seed), CLUSTERS.id);
  const r: JointEstimate = jointBootstrap(
    [perImage(within), perImage(between)],
    (m) => (m[1] > 0 ? m[0] / m[1] : NaN),
    { ...o.bootstrap, seed },
  );
  if (!Number.isFinite(r.estimate)) {
    return untestable(CLUSTERS, o, "the between-family mean S is not positive", n, num, den);
  }
  const outcome = classify(r.lo, r.hi, CLUSTERS.rule, o.noEffect);
  const pct = Math.round(o.bootstrap.level * 100);
  const what = `within-family pairs have ${fmt(r.estimate)}x the mean S of between-family ` +
    `pairs (${pct}% CI ${fmt(r.lo)} to ${fmt(r.hi)}; n = ${n.images} images, ${n.models} models, ` +
    `${within.length} within and ${between.length} between pairs)`;
  return {
    ...CLUSTERS,
    estimate: r.estimate,
    interval: [r.lo, r.hi],
    rule: describeRule(CLUSTERS.rule, o.noEffect),
    outcome,
    sentence: ratioSentence(outcome, what, CLUSTERS.rule, o, r.lo, r.hi),
    n,
    numerator: num,
    denominator: den,
  };
}

const ASYMMETRY = {
  id: "group-matrix-asymmetry",
  source: "cross-testing",
  finding:
    "The group matrix is asymmetric: heatmaps of group g score differently on h than h's on g.",
  statement: "The mean over pairs of groups g ≠ h of |G[g][h] − G[h][g]| (G: the group matrix of " +
    "Fig. 8) exceeds what swapping the roles of source and tested model image by image gives: " +
    "a one-sided randomisation test, each image's matrix transposed with probability 1/2.",
  statistic: "mean |G[g][h] − G[h][g]| over pairs of groups",
};

function asymmetryVerdict(cm: CrossMatrixInput, models: ModelInfo[], o: VerdictOptions): Verdict {
  const { idx, images, value, groupOf } = crossData(cm, models);
  const groups = [...new Set(idx.map(([, k]) => groupOf(k)))];
  const alpha = 1 - o.bootstrap.level;
  const rule = `replicates if p < ${fmt(alpha)}; inconclusive otherwise (symmetry cannot be ` +
    `shown without a margin the paper does not give, so there is no "no effect" or "opposite")`;
  const n = { images: images.length, models: idx.length };
  const base = {
    ...ASYMMETRY,
    rule,
    n,
    numerator: groups,
    denominator: [] as string[],
  };
  if (groups.length < 2 || images.length < o.minImages) {
    const reason = groups.length < 2
      ? "this run has fewer than two groups"
      : `only ${images.length} image(s) have S for every pair`;
    return {
      ...base,
      estimate: null,
      interval: null,
      outcome: "inconclusive",
      sentence: `Inconclusive: ${reason}.`,
    };
  }
  // d[p][i]: image i's G[g][h] − G[h][g] for the p-th pair of groups; a transposed image negates it.
  const members = groups.map((g) => idx.filter(([, k]) => groupOf(k) === g).map(([, k]) => k));
  const cell = (g: number, h: number, i: number) => {
    let s = 0;
    for (const a of members[g]) for (const b of members[h]) s += value(a, b, i);
    return s / (members[g].length * members[h].length);
  };
  const d: Float64Array[] = [];
  for (let g = 0; g < groups.length; g++) {
    for (let h = g + 1; h < groups.length; h++) {
      d.push(Float64Array.from(images, (i) => cell(g, h, i) - cell(h, g, i)));
    }
  }
  const statistic = (flip: Uint8Array | null) => {
    let t = 0;
    for (const dp of d) {
      let s = 0;
      for (let i = 0; i < dp.length; i++) s += flip?.[i] ? -dp[i] : dp[i];
      t += Math.abs(s / dp.length);
    }
    return t / d.length;
  };
  const seed = deriveSeed(verdictSeed(o.bootstrap.seed), ASYMMETRY.id);
  const t = flipTest(images.length, statistic, { ...o.bootstrap, seed });
  const outcome: Outcome = t.p < alpha ? "replicates" : "inconclusive";
  const what = `the mean group asymmetry is ${fmt(t.statistic)} (randomisation p = ${fmt(t.p)}; ${
    Math.round(o.bootstrap.level * 100)
  }% of transposed-image draws give at most ${
    fmt(t.nullQuantile)
  }; n = ${n.images} images, ${n.models} models, ${groups.length} groups)`;
  return {
    ...base,
    estimate: t.statistic,
    interval: null,
    outcome,
    sentence: outcome === "replicates"
      ? `Replicates: ${what}, as the paper found.`
      : `Inconclusive: ${what}; no more asymmetric than image noise makes a symmetric matrix.`,
    test: { p: t.p, null_quantile: t.nullQuantile, samples: t.samples },
  };
}

/**
 * Every verdict: Table 1's four, Table 2's two per declared ablation family, and the two
 * cross-testing ones when the cross-testing matrix comes with its per-image values. Models
 * without a Table 1 row or per-image values are left out of the groups they would be in.
 */
export function computeVerdicts(
  models: ModelInfo[],
  rows: Table1Row[],
  options: Partial<VerdictOptions> & { design?: StudyDesign; cross?: CrossMatrixInput } = {},
): Verdict[] {
  const { design, cross, ...rest } = options;
  const o: VerdictOptions = { ...defaults, ...rest };
  const byId = new Map(rows.map((r) => [r.model, r]));
  const out = ratioSpecs(models, o, design).map((s) => ratioVerdict(s, byId, o));
  if (cross?.per_image) {
    out.push(clustersVerdict(cross, models, o), asymmetryVerdict(cross, models, o));
  }
  return out;
}
