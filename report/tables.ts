/**
 * The report's tables as plain data (header + rows of unescaped text), built once from the input and
 * rendered by both the Markdown and the HTML writer, so the two can never disagree.
 */
import { aOrAn, plural } from "./article.ts";
import type {
  AccuracySection,
  CalibrationSection,
  Counting,
  CrossMatrixInput,
  Interval,
  ModelInfo,
  Provenance,
  RunInfo,
  RunWarning,
  SkippedImages,
  Table1Row,
  Threshold,
  Verdict,
} from "./input.ts";
import { THRESHOLDS } from "./input.ts";
import { singleModelScope } from "./verdicts.ts";
import {
  COMPARED,
  type PaperAblationRow,
  type PaperComparisonRow,
  type PaperGroupRow,
} from "./paper.ts";

export interface Table {
  id: string;
  title: string;
  caption?: string;
  columns: string[];
  /** Column alignment; numbers right-aligned. */
  align: ("left" | "right")[];
  rows: string[][];
}

/** Significant digits every nonzero number keeps, however small (see `fmt`). */
export const SIGNIFICANT = 2;

/**
 * `digits` decimals, like the paper's tables, and more where a nonzero value is small, so that it
 * keeps two significant digits and never prints as 0.00 (a ratio of means of 1.7e-5 prints as
 * 0.000017, not 0.00); "n/a" for missing values.
 */
export function fmt(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || Number.isNaN(x)) return "n/a";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return x.toFixed(digits);
  const needed = SIGNIFICANT - 1 - Math.floor(Math.log10(Math.abs(x)));
  // Past eight decimals a plain number is a row of zeros to count: 1.2e-9.
  return needed > 8 ? x.toExponential(SIGNIFICANT - 1) : x.toFixed(Math.max(digits, needed));
}

export function fmtInterval(iv: Interval | undefined): string {
  return iv ? `${fmt(iv.mean)} [${fmt(iv.lo)}, ${fmt(iv.hi)}]` : "n/a";
}

const pct = (x: number | undefined) => (x === undefined ? "n/a" : `${fmt(x * 100)}%`);

/** A fraction as a percentage with its interval, e.g. "91.20% [88.60, 93.60]". */
const pctInterval = (x: number | undefined, ci?: { lo: number; hi: number }) =>
  ci && x !== undefined ? `${pct(x)} [${fmt(ci.lo * 100)}, ${fmt(ci.hi * 100)}]` : pct(x);

/** The warnings units logged and the run noticed, one row each. */
export function warningsTable(warnings: RunWarning[]): Table {
  return {
    id: "warnings",
    title: "Warnings",
    caption: "what units logged while computing (shown whether this run computed or reused " +
      "them) and what the run noticed; each can make a number above less trustworthy",
    columns: ["from", "warning"],
    align: ["left", "left"],
    rows: warnings.map((w) => [w.source, w.message]),
  };
}

/** The glossary: the terms the tables and figures use, one row each. */
export function glossaryTable(terms: readonly [string, string][]): Table {
  return {
    id: "glossary",
    title: "Glossary",
    columns: ["term", "meaning"],
    align: ["left", "left"],
    rows: terms.map(([t, m]) => [t, m]),
  };
}

export function runTable(run: RunInfo, prov?: Provenance): Table {
  const rows = [["run id", run.id], ["config", run.config], ["created", run.created]];
  if (prov?.onnxruntime_version) rows.push(["onnxruntime", prov.onnxruntime_version]);
  if (prov?.execution_provider) rows.push(["execution provider", prov.execution_provider]);
  return { id: "run", title: "Run", columns: ["key", "value"], align: ["left", "left"], rows };
}

export function modelsTable(models: ModelInfo[], acc?: AccuracySection): Table {
  const top1 = new Map(acc?.models.map((a) => [a.model, a.top1]));
  const traits = (m: ModelInfo) =>
    m.traits
      ? `${m.traits.arch}, ${m.traits.norm}${m.traits.distilled ? ", distilled" : ""}`
      : "n/a";
  return {
    id: "models",
    title: "Models",
    columns: ["model", "group", "traits", "params", "top-1", "sha256"],
    align: ["left", "left", "left", "right", "right", "left"],
    rows: models.map((m) => [
      m.id,
      m.group,
      traits(m),
      m.params === undefined ? "n/a" : m.params.toLocaleString("en-US"),
      pct(top1.get(m.id)),
      m.sha256 ? m.sha256.slice(0, 16) : "n/a",
    ]),
  };
}

export function stagesTable(prov: Provenance): Table {
  return {
    id: "stages",
    title: "Stages",
    columns: ["stage", "wall (s)", "units computed", "units reused", "model evaluations"],
    align: ["left", "right", "right", "right", "right"],
    rows: (prov.stages ?? []).map((s) => [
      s.stage,
      fmt(s.wall_s, 1),
      String(s.units_computed),
      String(s.units_reused),
      String(s.model_evals),
    ]),
  };
}

export function accuracyTable(acc: AccuracySection): Table {
  return {
    id: "accuracy",
    title: "Accuracy and normalisation constants",
    caption: "top-1, top-5: percent of the labelled images, with a 95% percentile bootstrap " +
      "interval over images (a single point where every image is right); t: mean top-1 " +
      "confidence on the images; b: on fully blurred images; b(ĉ): mean confidence in the " +
      "class predicted on the image, on its blurred copy.",
    columns: ["model", "top-1", "top-5", "t", "b", "b(ĉ)", "images"],
    align: ["left", "right", "right", "right", "right", "right", "right"],
    rows: acc.models.map((a) => [
      a.model,
      pctInterval(a.top1, a.top1_ci),
      pctInterval(a.top5, a.top5_ci),
      fmt(a.t, 3),
      fmt(a.b, 3),
      fmt(a.bPred, 3),
      a.images === undefined ? "n/a" : String(a.images),
    ]),
  };
}

export function ensembleTable(acc: AccuracySection): Table {
  const rows = (acc.ensembles ?? []).map((e) => ["this run", e.members.join(" + "), pct(e.top1)]);
  if (acc.paper_claim) {
    const c = acc.paper_claim;
    const members = Object.entries(c.members).map(([k, v]) => `${k} (${fmt(v, 1)}%)`);
    rows.push(["paper", members.join(" + "), `${fmt(c.average_of_softmax_top1, 1)}%`]);
  }
  return {
    id: "ensembles",
    title: "Ensembles (average of softmax outputs)",
    columns: ["source", "members", "top-1"],
    align: ["left", "left", "right"],
    rows,
  };
}

/**
 * Table 1's intervals are marginal: `table1Row` (explain/mse_run.ts) resamples each column from
 * its own stream of the seed, so the captions say they are not joint.
 */
const SEPARATE_RESAMPLES = "each column's interval comes from its own resample of the images " +
  "(docs/METHODS.md §6), not from one resample shared by the columns, so two columns' " +
  "intervals are not a joint interval for their difference";

/** Table 1: MSE count and size and sub-explanation counts, mean [95% bootstrap interval]. */
/**
 * What Table 1 counts, in one sentence beside it (METHODS §1, §2): whether the MSE roots are in
 * the sub-explanation counts, and that the beam keeps width distinct states.
 */
export function countingStatement(c: Counting): string {
  const roots = c.roots_counted
    ? "each tree's root, the MSE itself, is counted (so each MSE adds 1 at every threshold), " +
      "as in the paper and its reference code"
    : "the trees' roots (the MSEs) are not counted";
  return `Counted: ${roots}; tree counts a subset once per deletion path that reaches it, ` +
    `unique once per image; a node's children delete ${
      c.children === "first3" ? "each of its first three patches (the reference)" : "each patch"
    } and a node is expanded while r ≥ ${c.expand_threshold}. MSEs: r > Ph = ${c.ph} ` +
    `(${c.ratio === "gain" ? "gain-normalised ratio" : "the paper's ratio"}) on ${
      aOrAn(c.grid)
    } ${c.grid}x${c.grid} ` +
    `grid, by a beam that keeps ${
      c.beam === "reference"
        ? `${c.beam_width + 1} states per level, repeats included (the reference's rule, for ` +
          `width ${c.beam_width}).`
        : `${c.beam_width} distinct states per level (the reference keeps ` +
          `${c.beam_width + 1}, repeats included).`
    }`;
}

export function table1Table(
  rows: Table1Row[],
  models: ModelInfo[],
  kind: "tree" | "unique" = "tree",
  counting?: Counting,
): Table {
  const group = new Map(models.map((m) => [m.id, m.group]));
  const subCols = THRESHOLDS.map((t) => `sub ≥ ${t}`);
  const sub = (r: Table1Row, t: Threshold) =>
    fmtInterval((kind === "tree" ? r.tree : r.unique)?.[t]);
  // Counted where mse-search flagged images whose baseline alone reaches Ph (explain/mse_run.ts).
  const counted = rows.some((r) => r.baseline_suffices !== undefined);
  return {
    id: kind === "tree" ? "table1" : "table1-unique",
    title: kind === "tree"
      ? "Table 1: MSEs and sub-explanations (tree counts, the paper's definition)"
      : "Table 1 (unique counts: distinct subsets per image)",
    caption:
      (counted
        ? "mean [95% bootstrap interval over images]; images where the baseline alone reaches Ph " +
          'are counted under "baseline suffices" and left out of the means'
        : "mean [95% bootstrap interval over images]") +
      `; ${SEPARATE_RESAMPLES}` +
      (counting ? `. ${countingStatement(counting)}` : ""),
    columns: [
      "model",
      "group",
      "images",
      ...(counted ? ["baseline suffices"] : []),
      "MSE count",
      "MSE size",
      ...subCols,
    ],
    align: [
      "left",
      "left",
      "right",
      ...(counted ? ["right" as const] : []),
      "right",
      "right",
      "right",
      "right",
      "right",
      "right",
    ],
    rows: rows.map((r) => [
      r.model,
      group.get(r.model) ?? "n/a",
      String(r.images),
      ...(counted ? [String(r.baseline_suffices ?? 0)] : []),
      fmtInterval(r.mse_count),
      fmtInterval(r.mse_size),
      ...THRESHOLDS.map((t) => sub(r, t)),
    ]),
  };
}

/** Our numbers beside the paper's (ours, paper, ratio ours/paper) for each Table 1 column. */
export function paperTable(cmp: PaperComparisonRow[]): Table {
  const columns = ["model", "paper model"];
  for (const c of COMPARED) columns.push(`${c.label} (ours)`, `${c.label} (paper)`, "ratio");
  return {
    id: "paper-comparison",
    title: "Table 1 beside the paper",
    caption: "ratio = ours / paper; sub-explanations are tree counts as in the paper.",
    columns,
    align: columns.map((_, i) => (i < 2 ? "left" : "right")),
    rows: cmp.map((r) => {
      const cells = [r.model, r.paper_model ?? "no match"];
      for (const c of COMPARED) {
        const v = r.values.find((x) => x.key === c.key);
        cells.push(fmt(v?.ours), fmt(v?.paper), v?.ratio == null ? "n/a" : `${fmt(v.ratio)}x`);
      }
      return cells;
    }),
  };
}

/** Sub-explanations at one threshold counted four ways: with and without the MSE roots. */
export function countingTable(rows: Table1Row[], counting: Counting, t: Threshold = "0.5"): Table {
  const as = counting.roots_counted ? "roots counted" : "roots not counted";
  return {
    id: "counting",
    title: `What is counted: sub-explanations (r ≥ ${t}) with and without the MSE roots`,
    caption: `mean [95% bootstrap interval over images]; "proper" leaves every tree's root out; ` +
      `${SEPARATE_RESAMPLES}. ${countingStatement(counting)}`,
    columns: [
      "model",
      "MSE count",
      `tree (${as})`,
      "tree, proper subsets",
      `unique (${as})`,
      "unique, proper subsets",
    ],
    align: ["left", "right", "right", "right", "right", "right"],
    rows: rows.map((r) => [
      r.model,
      fmtInterval(r.mse_count),
      fmtInterval(r.tree[t]),
      fmtInterval(r.proper?.tree[t]),
      fmtInterval(r.unique?.[t]),
      fmtInterval(r.proper?.unique[t]),
    ]),
  };
}

/** Each model's baseline regime, with the measured ImageNet reference row. */
export function calibrationTable(c: CalibrationSection): Table {
  const rows = c.models.map((m) => [
    m.model,
    String(m.images),
    fmt(m.mean_r0, 3),
    pct(m.suffices),
    m.searched === undefined ? "n/a" : `${m.searched_suffices ?? 0} of ${m.searched}`,
  ]);
  if (c.reference) {
    const r = c.reference;
    rows.push([
      `${r.label}: ${r.model}, ${r.baseline} (${r.source})`,
      String(r.images),
      fmt(r.mean_r0, 4),
      `${pct(r.suffices)} (≥ Ph)`,
      "n/a",
    ]);
  }
  return {
    id: "calibration",
    title: "Baseline regime: how much of the class the baseline alone keeps",
    caption: `r(∅) = p_B(ĉ) / p_I(ĉ), the paper's ratio of the baseline alone, over every image ` +
      `the models saw; baseline: ${c.baseline}. ${c.rule}`,
    columns: [
      "model",
      "images",
      "mean r(∅)",
      `baseline suffices (r(∅) > ${c.ph})`,
      "of the images Table 1 searched",
    ],
    align: ["left", "right", "right", "right", "right"],
    rows,
  };
}

const interval = (iv: [number, number] | null | undefined) =>
  iv ? `[${fmt(iv[0])}, ${fmt(iv[1])}]` : "n/a";

/** The outcome, with what it speaks about where a side has a single model (METHODS §7). */
const scoped = (v: Verdict) => {
  const scope = singleModelScope(v);
  return scope ? `${v.outcome} (${scope})` : v.outcome;
};

export function verdictTable(verdicts: Verdict[]): Table {
  return {
    id: "verdicts",
    title: "Mini-replication verdicts",
    caption: "estimate: the primary statistic, declared before the data (docs/METHODS.md §7), " +
      "with its 95% bootstrap interval from resampling images jointly across models (images " +
      "only, never models: an outcome says when a side has a single model); the paper's " +
      "ratio of means is shown but not decided on; n: images resampled and models compared",
    columns: [
      "source",
      "finding",
      "tested statement",
      "n",
      "estimate [95% CI]",
      "ratio of means [95% CI]",
      "outcome",
      "in words",
      "decision rule",
    ],
    align: ["left", "left", "left", "right", "right", "right", "left", "left", "left"],
    rows: verdicts.map((v) => [
      v.source,
      v.finding,
      v.statement,
      `${plural(v.n.images, "image")}; ${plural(v.n.models, "model")}`,
      v.estimate === null
        ? "n/a"
        : v.interval
        ? `${fmt(v.estimate)} ${interval(v.interval)}`
        : `${fmt(v.estimate, 3)} (p = ${fmt(v.test?.p, 3)})`,
      v.secondary ? `${fmt(v.secondary.estimate)} ${interval(v.secondary.interval)}` : "n/a",
      scoped(v),
      v.sentence,
      v.rule,
    ]),
  };
}

const METRICS = COMPARED.map((c) => c.label);

/** The paper's Table 1 group by group, each group's row followed by this run's. */
export function paperGroupsTable(rows: PaperGroupRow[]): Table {
  const cells = (xs: (number | null)[]) => xs.map((x) => fmt(x));
  return {
    id: "paper-table1-groups",
    title: "Table 1 beside the paper, group by group",
    caption: "group means: the mean over a group's models of each model's mean over images; " +
      "sub-explanations are tree counts, roots counted, as the paper's. Mapping: the config's " +
      "stages.report.design.table1 (which models stand for each of the paper's groups). The " +
      "paper's models are ImageNet classifiers on 224-pixel images; compare the pattern across " +
      "groups, not the absolute numbers.",
    columns: ["paper group", "source", "models", ...METRICS],
    align: ["left", "left", "left", ...METRICS.map(() => "right" as const)],
    rows: rows.flatMap((r) => [
      [r.group, "paper", r.paper_models.join(", "), ...cells(r.paper)],
      [
        r.group,
        "this run",
        r.models.length ? r.models.join(", ") : "none mapped",
        ...cells(r.ours),
      ],
    ]),
  };
}

const VARIANT_NAMES = {
  base: "LN, larger kernel or window",
  ln: "LN",
  gn: "GN",
  bn: "BN",
} as const;

/** The paper's Table 2 (normalisation ablation) beside this run's, family by family. */
export function paperTable2Table(rows: PaperAblationRow[]): Table {
  const cells = (xs: (number | null)[] | null) => METRICS.map((_, i) => fmt(xs?.[i] ?? null));
  const ratio = (x: number | null) => (x === null ? "n/a" : `${fmt(x)}x`);
  return {
    id: "paper-table2",
    title: "Table 2 beside the paper: the normalisation ablation",
    caption: "each family's variants differ only in their normalisation layers (and, for the " +
      "original, the kernel or window size); vs LN: sub-explanations (r ≥ 0.5) over the family's " +
      "LN model's. Mapping: the config's stages.report.design.normAblations.",
    columns: ["family", "variant", "source", "model", ...METRICS, "sub ≥ 0.5 vs LN"],
    align: ["left", "left", "left", "left", ...METRICS.map(() => "right" as const), "right"],
    rows: rows.flatMap((r) => [
      [
        r.family,
        VARIANT_NAMES[r.variant],
        "paper",
        r.paper_model ?? "not in the paper",
        ...cells(r.paper),
        ratio(r.paper_vs_ln),
      ],
      [
        r.family,
        VARIANT_NAMES[r.variant],
        "this run",
        r.model ?? "no analog",
        ...cells(r.ours),
        ratio(r.ours_vs_ln),
      ],
    ]),
  };
}

/** The cross-testing matrix S: rows are heatmap sources, columns the models tested. */
/** The caption's formula for S, by kpca's `baselineConfidence`. */
const NORMALISATION: Record<string, string> = {
  "top1": "; s̄ = (s − b) / (t − b)",
  "predicted-class": "; s̄ = (s − b(ĉ)) / (t − b(ĉ)), b(ĉ) as in the accuracy table",
};

export function crossMatrixTable(m: CrossMatrixInput): Table {
  return {
    id: "cross-matrix",
    title: "Cross-testing matrix S (normalised insertion AUC)",
    caption: "rows: heatmap source model; columns: evaluated model; not symmetric" +
      (NORMALISATION[m.baseline_confidence ?? ""] ?? ""),
    columns: ["source \\ tested", ...m.models],
    align: ["left", ...m.models.map(() => "right" as const)],
    rows: m.models.map((a, i) => [a, ...m.insertion[i].map((v) => fmt(v, 3))]),
  };
}

/** The images no model saw, with why: the first `limit`, the rest counted in the caption. */
export function skippedTable(skipped: SkippedImages, limit = 200): Table {
  const more = skipped.images.length - limit;
  return {
    id: "skipped-images",
    title: "Skipped images",
    caption: more > 0 ? `the first ${limit}; ${more} more are listed in results.json` : undefined,
    columns: ["image", "reason"],
    align: ["left", "left"],
    rows: skipped.images.slice(0, limit).map((x) => [x.id, x.reason]),
  };
}
