/**
 * What changed between two runs (`xcompare diff`), from their results.json alone: the params that
 * differ, every number of the report's tables with its delta and, where the number is a mean with a
 * 95% interval, whether the two intervals overlap; and the verdicts whose outcome changed. Pure:
 * the CLI reads the files and prints one of the formats below.
 */
import type {
  AccuracySection,
  CrossMatrixInput,
  Interval,
  Outcome,
  ReportInput,
  Table1Row,
  Verdict,
} from "./input.ts";
import { THRESHOLDS } from "./input.ts";

/** The parts of a results.json (report/render.ts writes it) that a diff reads. */
export interface ResultsFile {
  input: Omit<ReportInput, "verdicts">;
  derived?: { verdicts?: Verdict[] | null };
}

/** One side of the comparison as the reader names it. */
export interface Side {
  /** The run id (or a path when there is none). */
  id: string;
  results: ResultsFile;
}

export interface ParamChange {
  /** `stages.mse-search.beamWidth`, `models[3].onnx`. */
  path: string;
  a: unknown;
  b: unknown;
}

export interface NumberChange {
  /** The report table the number is in. */
  table: "accuracy" | "ensembles" | "table1" | "table1-unique" | "cross-matrix" | "verdicts";
  /** Model, ensemble, `source → tested` or verdict id. */
  row: string;
  column: string;
  /** Null where the row or column exists on one side only. */
  a: number | null;
  b: number | null;
  /** b − a; null unless both exist. */
  delta: number | null;
  /** The 95% intervals of a mean, where the table shows one. */
  intervals?: {
    a: [number, number] | null;
    b: [number, number] | null;
    /** Null unless both exist. */
    overlap: boolean | null;
  };
}

export interface VerdictChange {
  id: string;
  finding: string;
  /** `"absent"` where the verdict is on one side only. */
  a: Outcome | "absent";
  b: Outcome | "absent";
  sentenceA?: string;
  sentenceB?: string;
}

export interface RunDiff {
  a: string;
  b: string;
  params: ParamChange[];
  /** Every table number, in table order. */
  numbers: NumberChange[];
  /** Verdicts whose outcome differs (or that exist on one side only). */
  verdicts: VerdictChange[];
}

/** Runs whose config, tables and verdicts match exactly have no params, no changed numbers and no verdicts. */
export function diffRuns(a: Side, b: Side): RunDiff {
  const ia = a.results.input, ib = b.results.input;
  return {
    a: a.id,
    b: b.id,
    params: diffValues(ia.provenance?.config, ib.provenance?.config),
    numbers: [
      ...accuracyNumbers(ia.accuracy, ib.accuracy),
      ...ensembleNumbers(ia.accuracy, ib.accuracy),
      ...table1Numbers(ia.table1 ?? [], ib.table1 ?? [], "tree"),
      ...table1Numbers(ia.table1 ?? [], ib.table1 ?? [], "unique"),
      ...crossNumbers(ia.cross_matrix, ib.cross_matrix),
      ...verdictNumbers(a.results.derived?.verdicts ?? [], b.results.derived?.verdicts ?? []),
    ],
    verdicts: verdictChanges(a.results.derived?.verdicts ?? [], b.results.derived?.verdicts ?? []),
  };
}

/** Path-by-path differences of two JSON values (objects by key, arrays by index). */
export function diffValues(a: unknown, b: unknown, path = ""): ParamChange[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObj = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((k) => diffValues(a[k], b[k], path ? `${path}.${k}` : k));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    return a.flatMap((x, i) => diffValues(x, b[i], `${path}[${i}]`));
  }
  return [{ path: path || "(all)", a, b }];
}

const overlaps = (x: [number, number], y: [number, number]) =>
  Math.max(x[0], y[0]) <= Math.min(x[1], y[1]);

function number(
  table: NumberChange["table"],
  row: string,
  column: string,
  a: number | null | undefined,
  b: number | null | undefined,
): NumberChange {
  const x = typeof a === "number" ? a : null, y = typeof b === "number" ? b : null;
  return { table, row, column, a: x, b: y, delta: x !== null && y !== null ? y - x : null };
}

function interval(
  table: NumberChange["table"],
  row: string,
  column: string,
  a: Interval | undefined,
  b: Interval | undefined,
): NumberChange {
  const ia = a ? [a.lo, a.hi] as [number, number] : null;
  const ib = b ? [b.lo, b.hi] as [number, number] : null;
  return {
    ...number(table, row, column, a?.mean, b?.mean),
    intervals: { a: ia, b: ib, overlap: ia && ib ? overlaps(ia, ib) : null },
  };
}

/** Keys of both sides, A's order first, then what only B has. */
function union<T>(a: T[], b: T[], key: (x: T) => string): [string, T | undefined, T | undefined][] {
  const mb = new Map(b.map((x) => [key(x), x]));
  const ma = new Map(a.map((x) => [key(x), x]));
  const keys = [...new Set([...a.map(key), ...b.map(key)])];
  return keys.map((k) => [k, ma.get(k), mb.get(k)]);
}

function accuracyNumbers(a?: AccuracySection, b?: AccuracySection): NumberChange[] {
  const cols = ["top1", "top5", "t", "b", "bPred", "images"] as const;
  return union(a?.models ?? [], b?.models ?? [], (m) => m.model).flatMap(([model, x, y]) =>
    cols.filter((c) => x?.[c] !== undefined || y?.[c] !== undefined)
      .map((c) => number("accuracy", model, c, x?.[c], y?.[c]))
  );
}

function ensembleNumbers(a?: AccuracySection, b?: AccuracySection): NumberChange[] {
  return union(a?.ensembles ?? [], b?.ensembles ?? [], (e) => e.members.join(" + "))
    .map(([members, x, y]) => number("ensembles", members, "top1", x?.top1, y?.top1));
}

function table1Numbers(a: Table1Row[], b: Table1Row[], kind: "tree" | "unique"): NumberChange[] {
  const table = kind === "tree" ? "table1" : "table1-unique";
  return union(a, b, (r) => r.model).flatMap(([model, x, y]) => {
    if (kind === "unique" && !x?.unique && !y?.unique) return [];
    const out: NumberChange[] = [];
    if (kind === "tree") {
      out.push(number(table, model, "images", x?.images, y?.images));
      out.push(interval(table, model, "MSE count", x?.mse_count, y?.mse_count));
      out.push(interval(table, model, "MSE size", x?.mse_size, y?.mse_size));
    }
    for (const t of THRESHOLDS) {
      const ix = x?.[kind]?.[t], iy = y?.[kind]?.[t];
      if (ix || iy) out.push(interval(table, model, `sub ≥ ${t}`, ix, iy));
    }
    return out;
  });
}

function crossNumbers(a?: CrossMatrixInput, b?: CrossMatrixInput): NumberChange[] {
  const cell = (m: CrossMatrixInput | undefined, src: string, dst: string) => {
    const i = m?.models.indexOf(src) ?? -1, j = m?.models.indexOf(dst) ?? -1;
    return i >= 0 && j >= 0 ? m!.insertion[i]?.[j] : undefined;
  };
  const models = [...new Set([...(a?.models ?? []), ...(b?.models ?? [])])];
  return models.flatMap((src) =>
    models.filter((dst) => cell(a, src, dst) !== undefined || cell(b, src, dst) !== undefined)
      .map((dst) =>
        number("cross-matrix", `${src} → ${dst}`, "S", cell(a, src, dst), cell(b, src, dst))
      )
  );
}

function verdictNumbers(a: Verdict[], b: Verdict[]): NumberChange[] {
  return union(a, b, (v) => v.id).map(([id, x, y]) => {
    const ia = x?.interval ?? null, ib = y?.interval ?? null;
    return {
      ...number("verdicts", id, "estimate", x?.estimate, y?.estimate),
      intervals: { a: ia, b: ib, overlap: ia && ib ? overlaps(ia, ib) : null },
    };
  });
}

function verdictChanges(a: Verdict[], b: Verdict[]): VerdictChange[] {
  return union(a, b, (v) => v.id)
    .filter(([, x, y]) => x?.outcome !== y?.outcome)
    .map(([id, x, y]) => ({
      id,
      finding: (x ?? y)!.finding,
      a: x ? x.outcome : "absent",
      b: y ? y.outcome : "absent",
      sentenceA: x?.sentence,
      sentenceB: y?.sentence,
    }));
}

/** Whether a number moved (or exists on one side only). */
export const changed = (n: NumberChange) => n.a !== n.b;

const g = (x: number | null) =>
  x === null ? "—" : Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(4)));
const signed = (x: number | null) => (x === null ? "" : `${x > 0 ? "+" : ""}${g(x)}`);
const withInterval = (x: number | null, iv: [number, number] | null | undefined) =>
  iv ? `${g(x)} [${g(iv[0])}, ${g(iv[1])}]` : g(x);
const overlapWord = (n: NumberChange) =>
  !n.intervals
    ? ""
    : n.intervals.overlap === null
    ? ""
    : n.intervals.overlap
    ? "overlap"
    : "DISJOINT";
const word = (r: Outcome | "absent") => r;
const show = (v: unknown) => (v === undefined ? "(absent)" : JSON.stringify(v));

const TABLE_TITLES: Record<NumberChange["table"], string> = {
  accuracy: "accuracy",
  ensembles: "ensembles",
  table1: "Table 1 (tree counts)",
  "table1-unique": "Table 1 (unique counts)",
  "cross-matrix": "cross-testing matrix S",
  verdicts: "verdict estimates",
};

/** Numbers grouped by table, in table order. */
function byTable(numbers: NumberChange[]): [NumberChange["table"], NumberChange[]][] {
  return [...Map.groupBy(numbers, (n) => n.table)];
}

function cells(n: NumberChange): string[] {
  return [
    n.row,
    n.column,
    withInterval(n.a, n.intervals?.a),
    withInterval(n.b, n.intervals?.b),
    signed(n.delta),
    overlapWord(n),
  ];
}

/**
 * Plain text: the params that differ, then per table the numbers that moved (A, B, delta, whether
 * the intervals overlap) and how many did not, then the verdicts that changed.
 */
export function formatDiffText(d: RunDiff): string {
  const out = [`diff ${d.a} → ${d.b}`, ""];
  out.push(d.params.length ? `params that differ (${d.params.length}):` : "params: identical");
  for (const p of d.params) out.push(`  ${p.path}: ${show(p.a)} → ${show(p.b)}`);
  const moved = d.numbers.filter(changed);
  const disjoint = moved.filter((n) => n.intervals?.overlap === false).length;
  out.push(
    "",
    `table numbers: ${d.numbers.length} compared, ${moved.length} differ` +
      (disjoint ? `, ${disjoint} with disjoint 95% intervals` : ""),
  );
  for (const [table, ns] of byTable(d.numbers)) {
    const m = ns.filter(changed);
    if (!m.length) {
      out.push(`  ${TABLE_TITLES[table]}: all ${ns.length} equal`);
      continue;
    }
    out.push(`  ${TABLE_TITLES[table]}: ${m.length} of ${ns.length} differ`);
    const rows = m.map(cells);
    const width = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) {
      out.push(
        "    " + r.map((c, i) => (i === 4 ? c.padStart(width[i]) : c.padEnd(width[i]))).join("  ")
          .trimEnd(),
      );
    }
  }
  out.push(
    "",
    d.verdicts.length ? `verdicts that changed (${d.verdicts.length}):` : "verdicts: none changed",
  );
  for (const v of d.verdicts) out.push(`  ${v.id}: ${word(v.a)} → ${word(v.b)}`);
  return out.join("\n");
}

const mdCell = (s: string) => s.replace(/\|/g, "\\|");

/** Markdown: the same sections, every table number in a table of its own. */
export function formatDiffMarkdown(d: RunDiff): string {
  const out = [`# diff ${mdCell(d.a)} → ${mdCell(d.b)}`, "", "## Params that differ", ""];
  if (!d.params.length) out.push("None: the two configs are identical.");
  else {
    out.push("| param | A | B |", "| --- | --- | --- |");
    for (const p of d.params) {
      out.push(`| \`${p.path}\` | \`${mdCell(show(p.a))}\` | \`${mdCell(show(p.b))}\` |`);
    }
  }
  for (const [table, ns] of byTable(d.numbers)) {
    out.push(
      "",
      `## ${TABLE_TITLES[table]}`,
      "",
      `${ns.filter(changed).length} of ${ns.length} differ.`,
      "",
    );
    out.push(
      "| row | column | A | B | Δ (B − A) | 95% intervals |",
      "| --- | --- | ---: | ---: | ---: | --- |",
    );
    for (const n of ns) out.push(`| ${cells(n).map(mdCell).join(" | ")} |`);
  }
  out.push("", "## Verdicts that changed", "");
  if (!d.verdicts.length) out.push("None.");
  for (const v of d.verdicts) {
    out.push(`- **${v.id}**: ${word(v.a)} → ${word(v.b)}. ${v.finding}`);
    if (v.sentenceB) out.push(`  - B: ${v.sentenceB}`);
  }
  return out.join("\n") + "\n";
}
