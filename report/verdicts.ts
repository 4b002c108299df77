/**
 * Mini-replication verdicts: for each of the paper's findings, a ratio of group means with a bootstrap
 * interval over images, and a plain answer. The answer says "inconclusive" whenever the interval
 * contains 1 or the run lacks the models to test the finding, rather than guessing. The report
 * stage computes them into its cached report input; the renderer only shows them.
 */
import {
  type BootstrapOptions,
  bootstrapRatio,
  defaults as bootstrapDefaults,
} from "../explain/stats.ts";
import type { ModelInfo, Replicates, Table1Row, Threshold, Verdict } from "./input.ts";

export interface VerdictOptions {
  /** Resamples, level, and the report's seed (the verdicts draw from their own stream of it). */
  bootstrap: BootstrapOptions;
  /** Threshold of the sub-explanation count compared (the paper's strongest column is >= 0.5). */
  threshold: Threshold;
  /** Fewer images than this per model makes every verdict inconclusive. */
  minImages: number;
}

/**
 * The verdicts' own stream of the report's seed: `seed` XOR this constant. For the default seed 0,
 * `new Rng(0x9f03a150)` starts from mulberry32 state 20240617, the stream the verdicts were first
 * published with (before report/ and explain/ shared one generator), so they reproduce draw for draw.
 */
const VERDICT_STREAM = 0x9f03a150;

/** The seed the verdicts' bootstrap draws from, given the report's seed. */
export function verdictSeed(seed: number): number {
  return (seed ^ VERDICT_STREAM) >>> 0;
}

export const defaults: VerdictOptions = {
  bootstrap: bootstrapDefaults,
  threshold: "0.5",
  minImages: 2,
};

type Metric = (row: Table1Row, o: VerdictOptions) => (number | null)[] | undefined;

const subExpl: Metric = (row, o) => row.per_image?.tree[o.threshold];
const mseCount: Metric = (row) => row.per_image?.mse_count;
const mseSize: Metric = (row) => row.per_image?.mse_size;

/** LN/GN models without distillation: ConvNeXt and undistilled transformers. */
const isCompositional = (m: ModelInfo) =>
  !!m.traits && (m.traits.norm === "ln" || m.traits.norm === "gn") && !m.traits.distilled;
const isBnCnn = (m: ModelInfo) => m.traits?.norm === "bn" && m.traits.arch === "cnn";
const isDistilledTransformer = (m: ModelInfo) =>
  m.traits?.arch === "transformer" && m.traits.distilled;
const isUndistilledTransformer = (m: ModelInfo) =>
  m.traits?.arch === "transformer" && !m.traits.distilled;

interface Spec {
  id: string;
  finding: string;
  statement: (o: VerdictOptions) => string;
  /** Short noun phrases for the sentence. */
  numName: string;
  denName: string;
  quantity: (o: VerdictOptions) => string;
  num: (m: ModelInfo) => boolean;
  den: (m: ModelInfo) => boolean;
  metric: Metric;
  expect: "above1" | "below1";
}

const SPECS: Spec[] = [
  {
    id: "subexpl-lngn-vs-bn",
    finding:
      "LN/GN models (ConvNeXt, undistilled transformers) have far more sub-explanations than BN CNNs.",
    statement: (o) =>
      `Mean sub-explanation count (r ≥ ${o.threshold}, tree) of LN/GN models without ` +
      `distillation over that of BN CNNs is above 1.`,
    numName: "LN/GN models",
    denName: "BN CNNs",
    quantity: (o) => `sub-explanations (r ≥ ${o.threshold})`,
    num: isCompositional,
    den: isBnCnn,
    metric: subExpl,
    expect: "above1",
  },
  {
    id: "mse-count-disjunctive",
    finding: "BN CNNs and distilled transformers have more MSEs than LN/GN models.",
    statement: () =>
      "Mean MSE count of BN CNNs and distilled transformers over that of LN/GN models " +
      "without distillation is above 1.",
    numName: "BN CNNs and distilled transformers",
    denName: "LN/GN models",
    quantity: () => "MSEs per image",
    num: (m) => isBnCnn(m) || isDistilledTransformer(m),
    den: isCompositional,
    metric: mseCount,
    expect: "above1",
  },
  {
    id: "mse-size-disjunctive",
    finding: "BN CNNs and distilled transformers have smaller MSEs than LN/GN models.",
    statement: () =>
      "Mean MSE size of BN CNNs and distilled transformers over that of LN/GN models " +
      "without distillation is below 1.",
    numName: "BN CNNs and distilled transformers",
    denName: "LN/GN models",
    quantity: () => "patches per MSE",
    num: (m) => isBnCnn(m) || isDistilledTransformer(m),
    den: isCompositional,
    metric: mseSize,
    expect: "below1",
  },
  {
    id: "distillation",
    finding: "Distilled transformers have far fewer sub-explanations than undistilled ones.",
    statement: (o) =>
      `Mean sub-explanation count (r ≥ ${o.threshold}, tree) of distilled transformers over ` +
      `that of undistilled transformers is below 1.`,
    numName: "distilled transformers",
    denName: "undistilled transformers",
    quantity: (o) => `sub-explanations (r ≥ ${o.threshold})`,
    num: isDistilledTransformer,
    den: isUndistilledTransformer,
    metric: subExpl,
    expect: "below1",
  },
];

/** The outcome of a ratio interval against the expected side of 1. */
export function classify(lo: number, hi: number, expect: "above1" | "below1"): Replicates {
  if (!(lo <= hi)) return "inconclusive";
  if (expect === "above1") return lo > 1 ? true : hi < 1 ? false : "inconclusive";
  return hi < 1 ? true : lo > 1 ? false : "inconclusive";
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));

function sameImages(rows: Table1Row[]): boolean {
  const ids = rows.map((r) => r.per_image?.image_ids);
  if (ids.some((x) => !x)) return ids.every((x) => !x);
  const first = ids[0]!.join("\u0000");
  return ids.every((x) => x!.join("\u0000") === first);
}

function untestable(s: Spec, o: VerdictOptions, reason: string, num: string[], den: string[]) {
  return {
    id: s.id,
    finding: s.finding,
    statement: s.statement(o),
    estimate: null,
    interval: null,
    expect: s.expect,
    replicates: "inconclusive" as const,
    sentence: `Inconclusive: ${reason}.`,
    numerator: num,
    denominator: den,
  };
}

/**
 * Computes every verdict from model traits and per-image Table 1 arrays. Models without traits or
 * without per-image values for the metric are left out of both groups.
 */
export function computeVerdicts(
  models: ModelInfo[],
  rows: Table1Row[],
  options: Partial<VerdictOptions> = {},
): Verdict[] {
  const o: VerdictOptions = { ...defaults, ...options };
  const byId = new Map(rows.map((r) => [r.model, r]));
  return SPECS.map((s): Verdict => {
    const pick = (pred: (m: ModelInfo) => boolean) =>
      models.filter((m) => pred(m) && byId.has(m.id) && s.metric(byId.get(m.id)!, o));
    const numM = pick(s.num);
    const denM = pick(s.den);
    const numIds = numM.map((m) => m.id);
    const denIds = denM.map((m) => m.id);
    if (numM.length === 0 || denM.length === 0) {
      const missing = numM.length === 0 ? s.numName : s.denName;
      return untestable(s, o, `this run has no ${missing} with per-image values`, numIds, denIds);
    }
    const usedRows = [...numM, ...denM].map((m) => byId.get(m.id)!);
    const fewest = Math.min(...usedRows.map((r) => s.metric(r, o)!.length));
    if (fewest < o.minImages) {
      return untestable(
        s,
        o,
        `only ${fewest} image(s) per model, fewer than ${o.minImages}`,
        numIds,
        denIds,
      );
    }
    const r = bootstrapRatio(
      numM.map((m) => s.metric(byId.get(m.id)!, o)!),
      denM.map((m) => s.metric(byId.get(m.id)!, o)!),
      { ...o.bootstrap, seed: verdictSeed(o.bootstrap.seed), paired: sameImages(usedRows) },
    );
    if (!Number.isFinite(r.estimate)) {
      return untestable(s, o, `the ratio is undefined (${s.denName} average 0)`, numIds, denIds);
    }
    const replicates = classify(r.lo, r.hi, s.expect);
    const pct = Math.round(o.bootstrap.level * 100);
    const est = `${s.numName} have ${fmt(r.estimate)}x the ${s.quantity(o)} of ${s.denName} ` +
      `(${pct}% CI ${fmt(r.lo)} to ${fmt(r.hi)})`;
    const sentence = replicates === true
      ? `Replicates: ${est}, as the paper found.`
      : replicates === false
      ? `Does not replicate: ${est}, the opposite of the paper's finding.`
      : `Inconclusive: ${est}; the interval includes 1, so this run cannot tell.`;
    return {
      id: s.id,
      finding: s.finding,
      statement: s.statement(o),
      estimate: r.estimate,
      interval: [r.lo, r.hi],
      expect: s.expect,
      replicates,
      sentence,
      numerator: numIds,
      denominator: denIds,
      paired: r.paired,
    };
  });
}
