/**
 * renderReport: the one entry point. Derives the paper comparison, renders every figure headless,
 * and writes report.md, report.html, results.json and figures/ into `outDir`. It computes no
 * statistics: the verdicts come with the input, computed and cached by the report stage.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildDocument, type Derived, modelsOf } from "./document.ts";
import { buildFigures, defaults as figureDefaults, type FigureOptions } from "./figures.ts";
import { renderHtml } from "./html.ts";
import { type ReportInput, validateReportInput, type Verdict } from "./input.ts";
import { renderMarkdown } from "./markdown.ts";
import {
  comparePaper,
  compareTable1Groups,
  compareTable2,
  PAPER_FACTS_FILE,
  type PaperFacts,
  parsePaperFacts,
} from "./paper.ts";
import { defaults as renderDefaults, renderFigure, type RenderOptions } from "./render_figure.ts";
import type { SpecOptions } from "./specs.ts";
import { readVendorScripts } from "./vendor.ts";
import { readExplorerScript } from "./explorer_script.ts";

export interface RenderReportOptions {
  /**
   * The paper's numbers, read when the input has a Table 1 and either `paper_columns` or a study
   * design, unless `paperFacts` is given.
   */
  paperFactsPath: string;
  /** The paper facts themselves (skips reading the file). */
  paperFacts?: PaperFacts;
  figures: Partial<Omit<FigureOptions, "spec">> & { spec?: Partial<SpecOptions> };
  render: Partial<RenderOptions>;
}

export const defaults: RenderReportOptions = {
  paperFactsPath: fileURLToPath(PAPER_FACTS_FILE),
  figures: figureDefaults,
  render: renderDefaults,
};

export interface RenderReportResult {
  /** Paths written, relative to outDir. */
  files: string[];
  derived: Omit<Derived, "figures"> & { verdicts?: Verdict[]; figures: string[] };
}

/** The schema tag of results.json. */
export const RESULTS_SCHEMA = "xcompare-report-results/1";

async function loadFacts(o: RenderReportOptions): Promise<PaperFacts> {
  if (o.paperFacts) return o.paperFacts;
  let text: string;
  try {
    text = await Deno.readTextFile(o.paperFactsPath);
  } catch (e) {
    throw new Error(
      `the paper's numbers cannot be read from ${o.paperFactsPath}: ` +
        `${(e as Error).message}`,
    );
  }
  return parsePaperFacts(text, o.paperFactsPath);
}

export async function renderReport(
  input: ReportInput,
  outDir: string,
  options: Partial<RenderReportOptions> = {},
): Promise<RenderReportResult> {
  const o: RenderReportOptions = { ...defaults, ...options };
  validateReportInput(input);
  const models = modelsOf(input);
  const derived: Derived = { models, figures: [] };
  if (input.table1?.length && (input.paper_columns || input.design)) {
    const facts = await loadFacts(o);
    if (input.paper_columns) derived.paperComparison = comparePaper(input.table1, models, facts);
    if (input.design?.table1) {
      derived.paperGroups = compareTable1Groups(input.table1, input.design, facts);
    }
    if (input.design?.normAblations?.length) {
      derived.paperTable2 = compareTable2(input.table1, input.design, facts);
    }
  }
  derived.figures = await buildFigures(input, {
    ...o.figures,
    spec: { ...figureDefaults.spec, ...o.figures.spec },
  });
  const vendor = await readVendorScripts();

  await Deno.mkdir(join(outDir, "figures"), { recursive: true });
  const files: string[] = [];
  const write = async (rel: string, data: string | Uint8Array) => {
    const path = join(outDir, rel);
    const tmp = `${path}.tmp`;
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
    files.push(rel);
  };
  for (const f of derived.figures) {
    const r = await renderFigure(f.spec, f.name, o.render);
    await write(`figures/${f.name}.vl.json`, JSON.stringify(f.spec, null, 1) + "\n");
    await write(`figures/${f.name}.svg`, r.svg);
    await write(`figures/${f.name}.png`, r.png);
  }
  const doc = buildDocument(input, derived);
  await write("report.md", renderMarkdown(doc));
  const explorerScript = input.explorer?.images.length ? await readExplorerScript() : undefined;
  await write("report.html", renderHtml(doc, vendor, explorerScript));
  // results.json keeps its layout, which CI compares with reports/expected: what the pipeline
  // measured under `input`, the verdicts with what the report derives from it. The explorer's data
  // stays in report.html: it is the store's, rounded for display.
  const { verdicts, explorer: _explorer, ...measured } = input;
  const summary = {
    models,
    verdicts,
    paperComparison: derived.paperComparison,
    paperGroups: derived.paperGroups,
    paperTable2: derived.paperTable2,
    figures: derived.figures.map((f) => f.name),
  };
  const results = {
    schema: RESULTS_SCHEMA,
    input: measured,
    derived: {
      verdicts: summary.verdicts ?? null,
      paper_comparison: summary.paperComparison ?? null,
      paper_table1_groups: summary.paperGroups ?? null,
      paper_table2: summary.paperTable2 ?? null,
      figures: derived.figures.map((f) => ({
        name: f.name,
        title: f.title,
        spec: `figures/${f.name}.vl.json`,
        svg: `figures/${f.name}.svg`,
        png: `figures/${f.name}.png`,
      })),
      libraries: vendor.map((v) => ({ pkg: v.pkg, version: v.version })),
    },
  };
  await write("results.json", JSON.stringify(results, null, 1) + "\n");
  return { files, derived: summary };
}
