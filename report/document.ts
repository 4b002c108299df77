/**
 * The report as an ordered list of sections and blocks (tables, figures, text, code), built once from
 * the input and derived results. The Markdown and HTML writers only walk it, so both show the same.
 */
import type { FigureDef } from "./figures.ts";
import { GLOSSARY, methodsSummary } from "./glossary.ts";
import type { ExplorerInput, ModelInfo, ReportInput, Table1Row } from "./input.ts";
import { THRESHOLDS } from "./input.ts";
import { modelStyles } from "./palette.ts";
import type { PaperAblationRow, PaperComparisonRow, PaperGroupRow } from "./paper.ts";
import * as tables from "./tables.ts";
import { verdictSummary } from "./verdict_summary.ts";

export type Block =
  | { kind: "text"; text: string }
  | { kind: "table"; table: tables.Table }
  | { kind: "figure"; figure: FigureDef }
  | { kind: "code"; lang: string; code: string }
  | { kind: "explorer"; data: ExplorerData };

/** What report.html's explorer script reads (report/explorer.js). */
export interface ExplorerData {
  explorer: ExplorerInput;
  /** Models in family order, as the figures list them. */
  models: { id: string; group: string }[];
  /** Table 1's per-image values by model, for the explorer's summary line. */
  table1: Record<string, NonNullable<Table1Row["per_image"]>>;
  thresholds: readonly string[];
}

export interface Section {
  id: string;
  title: string;
  blocks: Block[];
}

export interface ReportDoc {
  title: string;
  sections: Section[];
}

export interface Derived {
  models: ModelInfo[];
  paperComparison?: PaperComparisonRow[];
  /** The paper's Table 1 groups beside the design's (when the input has a design). */
  paperGroups?: PaperGroupRow[];
  /** The paper's Table 2 rows beside the design's norm ablations. */
  paperTable2?: PaperAblationRow[];
  figures: FigureDef[];
}

export { modelsOf } from "./models.ts";

export function buildDocument(input: ReportInput, d: Derived): ReportDoc {
  const sections: Section[] = [];
  sections.push({
    id: "run",
    title: "Run",
    blocks: [
      { kind: "table", table: tables.runTable(input.run, input.provenance) },
      {
        kind: "text",
        text: "Every term used below is defined under Methods and glossary at the end.",
      },
    ],
  });
  const skipped = input.skipped_images;
  if (skipped) {
    const n = skipped.count;
    sections.push({
      id: "skipped-images",
      title: "Skipped images",
      blocks: n === 0 ? [{ kind: "text", text: "No image was skipped." }] : [
        {
          kind: "text",
          text: `${n} image${n === 1 ? " was" : "s were"} skipped: ${
            n === 1 ? "it is" : "they are"
          } in no number of this report.`,
        },
        { kind: "table", table: tables.skippedTable(skipped) },
      ],
    });
  }
  if (input.warnings) {
    sections.push({
      id: "warnings",
      title: `Warnings (${input.warnings.length})`,
      blocks: input.warnings.length
        ? [{ kind: "table", table: tables.warningsTable(input.warnings) }]
        : [{ kind: "text", text: "No unit logged a warning, and the run noticed none." }],
    });
  }
  const verdicts = input.verdicts;
  if (verdicts?.length) {
    sections.push({
      id: "verdicts",
      title: "Mini-replication",
      blocks: [
        { kind: "text", text: verdictSummary(verdicts) },
        { kind: "table", table: tables.verdictTable(verdicts) },
      ],
    });
  }
  if (input.accuracy) {
    const blocks: Block[] = [{ kind: "table", table: tables.accuracyTable(input.accuracy) }];
    if (input.accuracy.ensembles?.length || input.accuracy.paper_claim) {
      blocks.push({ kind: "table", table: tables.ensembleTable(input.accuracy) });
    }
    sections.push({ id: "accuracy", title: "Accuracy", blocks });
  }
  if (input.calibration) {
    sections.push({
      id: "calibration",
      title: "Baseline regime",
      blocks: [{ kind: "table", table: tables.calibrationTable(input.calibration) }],
    });
  }
  if (input.table1?.length) {
    const c = input.counting;
    const blocks: Block[] = [
      { kind: "table", table: tables.table1Table(input.table1, d.models, "tree", c) },
    ];
    if (input.table1.some((r) => r.unique)) {
      blocks.push({
        kind: "table",
        table: tables.table1Table(input.table1, d.models, "unique", c),
      });
    }
    if (c && input.table1.some((r) => r.proper)) {
      blocks.push({ kind: "table", table: tables.countingTable(input.table1, c) });
    }
    if (d.paperGroups) {
      blocks.push({ kind: "table", table: tables.paperGroupsTable(d.paperGroups) });
    }
    if (d.paperTable2?.length) {
      blocks.push({ kind: "table", table: tables.paperTable2Table(d.paperTable2) });
    }
    if (d.paperComparison) {
      blocks.push({ kind: "table", table: tables.paperTable(d.paperComparison) });
    }
    sections.push({ id: "table1", title: "MSEs and sub-explanations", blocks });
  }
  if (input.cross_matrix) {
    sections.push({
      id: "cross-matrix",
      title: "Cross-testing",
      blocks: [{ kind: "table", table: tables.crossMatrixTable(input.cross_matrix) }],
    });
  }
  if (d.figures.length) {
    sections.push({
      id: "figures",
      title: "Figures",
      blocks: d.figures.map((figure) => ({ kind: "figure" as const, figure })),
    });
  }
  if (input.explorer?.images.length) {
    sections.push({
      id: "explorer",
      title: "Per-image explorer",
      blocks: [
        {
          kind: "text",
          text: "Choose a model and an image: the image's MSEs; its sub-explanation trees " +
            "as the paper's Fig. 4 draws them (a child removes one patch, outlined in red; " +
            "r under each node; dashed nodes fall below 0.5 and are not counted); the " +
            "model's heatmap over the image with its insertion and deletion curves; and, at " +
            "the chosen step, the masked images of cross-testing with every model's " +
            "confidence on them. Hidden patches and cells show the baseline B as blocks; the " +
            "pipeline blends them smoothly when the config's upsample is bilinear.",
        },
        { kind: "explorer", data: explorerData(input, input.explorer, d.models) },
      ],
    });
  }
  sections.push({
    id: "methods",
    title: "Methods and glossary",
    blocks: [
      ...methodsSummary(input).map((text) => ({ kind: "text" as const, text })),
      { kind: "table", table: tables.glossaryTable(GLOSSARY) },
    ],
  });
  if (input.provenance) {
    const p = input.provenance;
    const blocks: Block[] = [{
      kind: "table",
      table: tables.modelsTable(p.models, input.accuracy),
    }];
    if (p.stages?.length) blocks.push({ kind: "table", table: tables.stagesTable(p) });
    blocks.push({ kind: "code", lang: "json", code: JSON.stringify(p.config, null, 2) ?? "null" });
    sections.push({ id: "provenance", title: "Provenance", blocks });
  }
  return { title: `xcompare report: ${input.run.id}`, sections };
}

function explorerData(input: ReportInput, explorer: ExplorerInput, models: ModelInfo[]) {
  const table1: ExplorerData["table1"] = {};
  for (const r of input.table1 ?? []) if (r.per_image) table1[r.model] = r.per_image;
  return {
    explorer,
    models: modelStyles(models).map((s) => ({ id: s.id, group: s.family })),
    table1,
    thresholds: THRESHOLDS,
  };
}
