/**
 * The report as an ordered list of sections and blocks (tables, figures, text, code), built once from
 * the input and derived results. The Markdown and HTML writers only walk it, so both show the same.
 */
import type { FigureDef } from "./figures.ts";
import type { ModelInfo, ReportInput } from "./input.ts";
import type { PaperComparisonRow } from "./paper.ts";
import * as tables from "./tables.ts";

export type Block =
  | { kind: "text"; text: string }
  | { kind: "table"; table: tables.Table }
  | { kind: "figure"; figure: FigureDef }
  | { kind: "code"; lang: string; code: string };

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
  figures: FigureDef[];
}

/** The models named in provenance, else those seen in Table 1 or accuracy (group unknown). */
export function modelsOf(input: ReportInput): ModelInfo[] {
  if (input.provenance) return input.provenance.models;
  const ids = [
    ...(input.table1 ?? []).map((r) => r.model),
    ...(input.accuracy?.models ?? []).map((a) => a.model),
  ];
  return [...new Set(ids)].map((id) => ({ id, group: "n/a" }));
}

export function buildDocument(input: ReportInput, d: Derived): ReportDoc {
  const sections: Section[] = [];
  sections.push({
    id: "run",
    title: "Run",
    blocks: [{ kind: "table", table: tables.runTable(input.run, input.provenance) }],
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
  const verdicts = input.verdicts;
  if (verdicts?.length) {
    const yes = verdicts.filter((v) => v.replicates === true).length;
    const no = verdicts.filter((v) => v.replicates === false).length;
    const unclear = verdicts.length - yes - no;
    sections.push({
      id: "verdicts",
      title: "Mini-replication",
      blocks: [
        {
          kind: "text",
          text: `${yes} of ${verdicts.length} findings replicate, ${no} do not, ` +
            `${unclear} inconclusive.`,
        },
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
  if (input.table1?.length) {
    const blocks: Block[] = [
      { kind: "table", table: tables.table1Table(input.table1, d.models, "tree") },
    ];
    if (input.table1.some((r) => r.unique)) {
      blocks.push({ kind: "table", table: tables.table1Table(input.table1, d.models, "unique") });
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
