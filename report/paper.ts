/**
 * The paper's published numbers (report/paper_facts.json, a copy of the project's
 * shared/docs/paper-facts.json) and their match to our models: the paper config's report shows each
 * of our Table 1 numbers beside the paper's, and every report with a study design shows the paper's
 * Table 1 groups and Table 2 rows beside the models the design maps onto them.
 */
import type { ModelInfo, NormVariants, StudyDesign, Table1Row, Threshold } from "./input.ts";
import { jsonSyntaxReason } from "../lib/json_reason.ts";

/** The committed copy of the paper's numbers, read by the renderer. */
export const PAPER_FACTS_FILE = new URL("./paper_facts.json", import.meta.url);

/** The paper's Table 1 groups, in its order (the first column of its rows). */
export const PAPER_GROUPS = [
  "older CNNs",
  "newer CNNs",
  "ConvNeXt",
  "Transformers",
  "Transformers with distillation",
] as const;

export type PaperRow = [string, string, number, number, number, number, number, number];

export interface PaperFacts {
  source?: string;
  table1_columns: string[];
  table1: PaperRow[];
  table2?: PaperRow[];
  ensemble?: { members: Record<string, number>; average_of_softmax_top1: number };
  findings?: string[];
  timm_identifiers_likely?: Record<string, string>;
}

/** Checks the keys this module reads; errors name the file. */
export function parsePaperFacts(text: string, file: string): PaperFacts {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: invalid JSON: ${jsonSyntaxReason(e)}`);
  }
  const o = v as Record<string, unknown>;
  if (!o || typeof o !== "object" || !Array.isArray(o.table1)) {
    throw new Error(`${file}: expected key "table1" (an array of rows)`);
  }
  o.table1.forEach((r: unknown, i: number) => {
    if (
      !Array.isArray(r) || r.length !== 8 || typeof r[1] !== "string" ||
      !r.slice(2).every((x) => typeof x === "number")
    ) {
      throw new Error(`${file}: table1[${i}]: expected [type, model, 6 numbers]`);
    }
  });
  return v as PaperFacts;
}

const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");

/** Finds the paper's row for a model: by `paper_name`, by id, or by the timm identifier map. */
export function matchPaperRow(
  model: Pick<ModelInfo, "id" | "paper_name">,
  facts: PaperFacts,
): PaperRow | undefined {
  const rows = [...facts.table1, ...(facts.table2 ?? [])];
  const byName = (name: string) => rows.find((r) => norm(r[1]) === norm(name));
  if (model.paper_name) return byName(model.paper_name);
  const direct = byName(model.id);
  if (direct) return direct;
  for (const [name, timm] of Object.entries(facts.timm_identifiers_likely ?? {})) {
    if (!name.startsWith("_") && timm === model.id) return byName(name);
  }
  return undefined;
}

export const COMPARED = [
  { key: "mse_count", label: "MSE count", col: 2 },
  { key: "mse_size", label: "MSE size", col: 3 },
  { key: "sub_ge80", label: "sub ≥ 0.8", col: 4, threshold: "0.8" },
  { key: "sub_ge70", label: "sub ≥ 0.7", col: 5, threshold: "0.7" },
  { key: "sub_ge60", label: "sub ≥ 0.6", col: 6, threshold: "0.6" },
  { key: "sub_ge50", label: "sub ≥ 0.5", col: 7, threshold: "0.5" },
] as const;

export interface ComparedValue {
  key: typeof COMPARED[number]["key"];
  ours: number | null;
  paper: number;
  /** ours / paper */
  ratio: number | null;
}

export interface PaperComparisonRow {
  model: string;
  /** The paper's model name, or null when no row matched. */
  paper_model: string | null;
  values: ComparedValue[];
}

/** Our Table 1 value of a compared column (tree counts, the paper's definition). */
function ours(row: Table1Row, c: typeof COMPARED[number]): number | null {
  if (c.key === "mse_count") return row.mse_count.mean;
  if (c.key === "mse_size") return row.mse_size.mean;
  return row.tree[(c as { threshold: Threshold }).threshold]?.mean ?? null;
}

const meanOf = (xs: (number | null)[]) => {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
};

/** One of the paper's Table 1 groups beside the models a design maps onto it. */
export interface PaperGroupRow {
  group: string;
  paper_models: string[];
  /** The mean of the paper's rows in the group, per compared column (COMPARED order). */
  paper: number[];
  /** This run's models in the group (those with a Table 1 row). */
  models: string[];
  /** The mean over those models of each one's Table 1 mean, per column; null without models. */
  ours: (number | null)[];
}

/** The paper's Table 1, group by group, beside this run's models in the same groups. */
export function compareTable1Groups(
  rows: Table1Row[],
  design: StudyDesign,
  facts: PaperFacts,
): PaperGroupRow[] {
  const byId = new Map(rows.map((r) => [r.model, r]));
  return PAPER_GROUPS.map((group) => {
    const paperRows = facts.table1.filter((r) => r[0] === group);
    const models = (design.table1?.[group] ?? []).filter((id) => byId.has(id));
    return {
      group,
      paper_models: paperRows.map((r) => r[1]),
      paper: COMPARED.map((c) => meanOf(paperRows.map((r) => r[c.col] as number))!),
      models,
      ours: COMPARED.map((c) => meanOf(models.map((id) => ours(byId.get(id)!, c)))),
    };
  });
}

/** One Table 2 row (a normalisation variant of a family) beside the model standing for it. */
export interface PaperAblationRow {
  family: string;
  variant: keyof NormVariants;
  paper_model: string | null;
  /** The paper's numbers per compared column, null when the paper row is not named or found. */
  paper: number[] | null;
  model: string | null;
  ours: (number | null)[] | null;
  /** Sub-explanations (r >= 0.5) over the family's LN model's: the paper's, and ours. */
  paper_vs_ln: number | null;
  ours_vs_ln: number | null;
}

const VARIANTS: (keyof NormVariants)[] = ["base", "ln", "gn", "bn"];

/** The paper's Table 2 beside this run's norm ablations, family by family. */
export function compareTable2(
  rows: Table1Row[],
  design: StudyDesign,
  facts: PaperFacts,
): PaperAblationRow[] {
  const byId = new Map(rows.map((r) => [r.model, r]));
  const paperRows = [...(facts.table2 ?? []), ...facts.table1];
  const sub50 = COMPARED.findIndex((c) => c.key === "sub_ge50");
  const out: PaperAblationRow[] = [];
  for (const a of design.normAblations ?? []) {
    const paperOf = (v: keyof NormVariants) => {
      const name = a.paper?.[v];
      const r = name ? paperRows.find((x) => x[1] === name) : undefined;
      return r ? COMPARED.map((c) => r[c.col] as number) : null;
    };
    const oursOf = (v: keyof NormVariants) => {
      const id = a.models[v];
      return id && byId.has(id) ? COMPARED.map((c) => ours(byId.get(id)!, c)) : null;
    };
    const pLn = paperOf("ln")?.[sub50] ?? null, oLn = oursOf("ln")?.[sub50] ?? null;
    const vs = (x: number | null | undefined, ln: number | null) =>
      x == null || ln == null || ln === 0 ? null : x / ln;
    for (const v of VARIANTS) {
      if (!a.models[v] && !a.paper?.[v]) continue;
      const paper = paperOf(v), mine = oursOf(v);
      out.push({
        family: a.family,
        variant: v,
        paper_model: a.paper?.[v] ?? null,
        paper,
        model: a.models[v] ?? null,
        ours: mine,
        paper_vs_ln: vs(paper?.[sub50], pLn),
        ours_vs_ln: vs(mine?.[sub50], oLn),
      });
    }
  }
  return out;
}

/** Our Table 1 (tree counts, the paper's definition) beside the paper's, row by row. */
export function comparePaper(
  rows: Table1Row[],
  models: Pick<ModelInfo, "id" | "paper_name">[],
  facts: PaperFacts,
): PaperComparisonRow[] {
  const info = new Map(models.map((m) => [m.id, m]));
  return rows.map((row) => {
    const p = matchPaperRow(info.get(row.model) ?? { id: row.model }, facts);
    if (!p) return { model: row.model, paper_model: null, values: [] };
    const values = COMPARED.map((c): ComparedValue => {
      const mine = ours(row, c);
      const paper = p[c.col] as number;
      return {
        key: c.key,
        ours: mine,
        paper,
        ratio: mine === null || paper === 0 ? null : mine / paper,
      };
    });
    return { model: row.model, paper_model: p[1], values };
  });
}
