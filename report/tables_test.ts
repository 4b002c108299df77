import assert from "node:assert/strict";
import type { ReportInput } from "./input.ts";
import { THRESHOLDS } from "./input.ts";
import { htmlTable } from "./html.ts";
import { codeFence, markdownTable } from "./markdown.ts";
import * as tables from "./tables.ts";

const FIXTURE = new URL("../tests/fixtures/report_input.json", import.meta.url);
const input: ReportInput = JSON.parse(Deno.readTextFileSync(FIXTURE));
const HOSTILE = "<script>alert(1)</script>";

Deno.test("fmt and fmtInterval", () => {
  assert.equal(tables.fmt(1.005, 1), "1.0");
  assert.equal(tables.fmt(null), "n/a");
  assert.equal(tables.fmt(Infinity), "inf");
  assert.equal(tables.fmtInterval({ mean: 6.931, lo: 6.5, hi: 7.25 }), "6.93 [6.50, 7.25]");
});

Deno.test("table1 has one row per model with every threshold column", () => {
  const t = tables.table1Table(input.table1!, input.provenance!.models);
  assert.equal(t.columns.length, 5 + THRESHOLDS.length);
  assert.equal(t.align.length, t.columns.length);
  assert.deepEqual(t.rows.map((r) => r[0]), input.table1!.map((r) => r.model));
  const first = input.table1![0];
  assert.equal(t.rows[0][1], input.provenance!.models.find((m) => m.id === first.model)!.group);
  assert.equal(t.rows[0][3], tables.fmtInterval(first.mse_count));
  assert.equal(t.rows[0][8], tables.fmtInterval(first.tree["0.5"]));
  const u = tables.table1Table(input.table1!, input.provenance!.models, "unique");
  assert.equal(u.rows[0][8], tables.fmtInterval(first.unique!["0.5"]));
  for (const r of t.rows) assert.equal(r.length, t.columns.length);
});

Deno.test("accuracy, ensemble, models and stages tables", () => {
  const acc = tables.accuracyTable(input.accuracy!);
  assert.equal(acc.rows.length, input.accuracy!.models.length);
  assert.equal(acc.rows[0][1], `${(input.accuracy!.models[0].top1 * 100).toFixed(2)}%`);
  const ens = tables.ensembleTable(input.accuracy!);
  assert.equal(ens.rows.at(-1)![0], "paper");
  assert.equal(ens.rows.at(-1)![2], "82.9%");
  const models = tables.modelsTable(input.provenance!.models, input.accuracy);
  assert.deepEqual(models.rows.map((r) => r[0]), input.provenance!.models.map((m) => m.id));
  assert.equal(tables.stagesTable(input.provenance!).rows.length, input.provenance!.stages!.length);
});

Deno.test("a hostile label is text in both Markdown and HTML tables", () => {
  const t: tables.Table = {
    id: "x",
    title: "T",
    columns: ["model", "n"],
    align: ["left", "right"],
    rows: [[`${HOSTILE} | *b* [l](u)`, "1"], ["plain", "2"]],
  };
  const md = markdownTable(t);
  assert.ok(!md.includes("<script"), md);
  assert.ok(md.includes("&lt;script&gt;alert(1)&lt;/script&gt; \\| \\*b\\* \\[l\\](u)"));
  // Every body row still has exactly three unescaped pipes on each side of two cells.
  for (const line of md.split("\n").filter((l) => l.startsWith("|"))) {
    assert.equal(line.replace(/\\\|/g, "").split("|").length - 1, 3, line);
  }
  assert.ok(md.includes("| ---: |"));
  const html = htmlTable(t);
  assert.ok(!html.includes("<script"));
  assert.ok(html.includes("<td>&lt;script&gt;alert(1)&lt;/script&gt; | *b* [l](u)</td>"));
  assert.ok(html.includes('<td class="r">1</td>'));
});

Deno.test("codeFence outgrows backtick runs in the content", () => {
  const f = codeFence('{"a": "```"}', "json");
  assert.ok(f.startsWith("````json\n") && f.endsWith("\n````"));
});

Deno.test("verdict and paper tables render every entry", () => {
  const v = tables.verdictTable([{
    id: "x",
    finding: "f",
    statement: "s",
    estimate: 2,
    interval: [1.5, 2.5],
    expect: "above1",
    replicates: true,
    sentence: "Replicates.",
    numerator: [],
    denominator: [],
  }]);
  assert.deepEqual(v.rows[0], ["f", "s", "2.00", "[1.50, 2.50]", "replicates", "Replicates."]);
  const p = tables.paperTable([{
    model: "m",
    paper_model: "M",
    values: [{ key: "mse_count", ours: 7, paper: 3.5, ratio: 2 }],
  }]);
  assert.deepEqual(p.rows[0].slice(0, 5), ["m", "M", "7.00", "3.50", "2.00x"]);
  assert.equal(p.rows[0].length, p.columns.length);
});

Deno.test("accuracy shows its bootstrap interval; HTML puts intervals on their own line", () => {
  const acc = {
    models: [
      { model: "m", top1: 0.912, top5: 0.99, top1_ci: { lo: 0.886, hi: 0.936 }, images: 500 },
      { model: "n", top1: 0.5 },
    ],
  };
  const t = tables.accuracyTable(acc);
  assert.equal(t.rows[0][1], "91.20% [88.60, 93.60]");
  assert.equal(t.rows[0][2], "99.00%", "no interval given, none shown");
  assert.equal(t.rows[1][1], "50.00%");
  const html = htmlTable(t);
  assert.ok(html.includes('91.20% <span class="ci">[88.60, 93.60]</span>'), html);
  const t1 = htmlTable(tables.table1Table(input.table1!, input.provenance!.models));
  assert.ok(/<td class="r">[0-9.]+ <span class="ci">\[[0-9.]+, [0-9.]+\]<\/span><\/td>/.test(t1));
});

Deno.test("warnings and glossary tables escape what they show", () => {
  const w = tables.warningsTable([{ source: "kpca/all", message: HOSTILE }]);
  assert.deepEqual(w.rows, [["kpca/all", HOSTILE]]);
  assert.ok(!htmlTable(w).includes(HOSTILE) && htmlTable(w).includes("&lt;script&gt;"));
  const g = tables.glossaryTable([["MSE", "minimal sufficient explanation"]]);
  assert.deepEqual(g.columns, ["term", "meaning"]);
});
