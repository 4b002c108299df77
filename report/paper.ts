/**
 * The paper's published numbers (shared/docs/paper-facts.json) and their match to our models, so the
 * paper config's report can show each of our Table 1 numbers beside the paper's.
 */
import type { ModelInfo, Table1Row, Threshold } from "./input.ts";

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
    throw new Error(`${file}: invalid JSON: ${(e as Error).message}`);
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
      const ours = c.key === "mse_count"
        ? row.mse_count.mean
        : c.key === "mse_size"
        ? row.mse_size.mean
        : row.tree[(c as { threshold: Threshold }).threshold]?.mean ?? null;
      const paper = p[c.col] as number;
      return { key: c.key, ours, paper, ratio: ours === null || paper === 0 ? null : ours / paper };
    });
    return { model: row.model, paper_model: p[1], values };
  });
}
