/**
 * The report's tables as plain data (header + rows of unescaped text), built once from the input and
 * rendered by both the Markdown and the HTML writer, so the two can never disagree.
 */
import type {
  AccuracySection,
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
import { COMPARED, type PaperComparisonRow } from "./paper.ts";

export interface Table {
  id: string;
  title: string;
  caption?: string;
  columns: string[];
  /** Column alignment; numbers right-aligned. */
  align: ("left" | "right")[];
  rows: string[][];
}

/** Fixed two decimals, like the paper's tables; "n/a" for missing values. */
export function fmt(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || Number.isNaN(x)) return "n/a";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  return x.toFixed(digits);
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

/** Table 1: MSE count and size and sub-explanation counts, mean [95% bootstrap interval]. */
export function table1Table(
  rows: Table1Row[],
  models: ModelInfo[],
  kind: "tree" | "unique" = "tree",
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
    caption: counted
      ? "mean [95% bootstrap interval over images]; images where the baseline alone reaches Ph " +
        'are counted under "baseline suffices" and left out of the means'
      : "mean [95% bootstrap interval over images]",
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

export function verdictTable(verdicts: Verdict[]): Table {
  const word = (r: Verdict["replicates"]) =>
    r === true ? "replicates" : r === false ? "does not replicate" : "inconclusive";
  return {
    id: "verdicts",
    title: "Mini-replication verdicts",
    caption: "ratio of group means with a 95% bootstrap interval over images",
    columns: ["finding", "tested statement", "estimate", "interval", "verdict", "in words"],
    align: ["left", "left", "right", "right", "left", "left"],
    rows: verdicts.map((v) => [
      v.finding,
      v.statement,
      fmt(v.estimate),
      v.interval ? `[${fmt(v.interval[0])}, ${fmt(v.interval[1])}]` : "n/a",
      word(v.replicates),
      v.sentence,
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
