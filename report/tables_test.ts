import assert from "node:assert/strict";
import type { ReportInput, Verdict } from "./input.ts";
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

Deno.test("fmt keeps two significant digits of a small nonzero value: never 0.00", () => {
  // The replication's ratio of means for subexpl-lngn-vs-bn printed as "0.00 [0.00, 0.26]".
  assert.equal(
    tables.fmtInterval({ mean: 1.66e-5, lo: 3.2e-6, hi: 0.2645 }),
    "0.000017 [0.0000032, 0.26]",
  );
  assert.equal(tables.fmtInterval({ mean: 0.0125, lo: 0, hi: 0.24 }), "0.013 [0.00, 0.24]");
  assert.equal(tables.fmt(0.12048), "0.12");
  assert.equal(tables.fmt(0.0098), "0.0098");
  assert.equal(tables.fmt(1 / 2001, 3), "0.00050");
  assert.equal(tables.fmt(-0.0004, 3), "-0.00040");
  assert.equal(tables.fmt(1.2e-9), "1.2e-9");
  assert.equal(tables.fmt(145.618), "145.62");
  assert.equal(tables.fmt(0, 3), "0.000");
  for (let e = -12; e <= 3; e += 0.37) {
    const x = 10 ** e, shown = tables.fmt(x);
    assert.ok(Number(shown) > 0, `${x} printed as ${shown}`);
    assert.ok(Math.abs(Number(shown) / x - 1) < 0.06, `${x} printed as ${shown}`);
  }
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
    source: "Table 2",
    finding: "f",
    statement: "s",
    statistic: "ratio of geometric means of (1 + value)",
    estimate: 0.3,
    interval: [0.2, 0.45],
    rule: "replicates if ...",
    outcome: "replicates",
    sentence: "Replicates.",
    n: { images: 10, models: 2 },
    numerator: [],
    denominator: [],
    secondary: { statistic: "ratio of arithmetic means", estimate: 1.6, interval: [0.01, 71.5] },
  }, {
    id: "y",
    source: "cross-testing",
    finding: "g",
    statement: "t",
    statistic: "mean |G[g][h] - G[h][g]|",
    estimate: 0.0412,
    interval: null,
    rule: "replicates if p < 0.05",
    outcome: "inconclusive",
    sentence: "Inconclusive.",
    n: { images: 10, models: 16 },
    numerator: [],
    denominator: [],
    test: { p: 0.21, null_quantile: 0.05, samples: 2000 },
  }]);
  assert.deepEqual(v.rows[0], [
    "Table 2",
    "f",
    "s",
    "10 images; 2 models",
    "0.30 [0.20, 0.45]",
    "1.60 [0.010, 71.50]",
    "replicates",
    "Replicates.",
    "replicates if ...",
  ]);
  assert.equal(v.rows[1][4], "0.041 (p = 0.210)");
  assert.equal(v.rows[1][6], "inconclusive");
  assert.equal(v.rows[1][5], "n/a");
  for (const r of v.rows) assert.equal(r.length, v.columns.length);
  const p = tables.paperTable([{
    model: "m",
    paper_model: "M",
    values: [{ key: "mse_count", ours: 7, paper: 3.5, ratio: 2 }],
  }]);
  assert.deepEqual(p.rows[0].slice(0, 5), ["m", "M", "7.00", "3.50", "2.00x"]);
  assert.equal(p.rows[0].length, p.columns.length);
});

Deno.test("a verdict with a single model on a side says so beside its outcome", () => {
  const base: Verdict = {
    id: "bn-cuts/ViT",
    source: "Table 2",
    finding: "f",
    statement: "s",
    statistic: "ratio of geometric means of (1 + value)",
    estimate: 0.7,
    interval: [0.51, 0.95],
    rule: "r",
    outcome: "inconclusive",
    sentence: "Inconclusive: ...",
    n: { images: 92, models: 2 },
    numerator: ["vit-bn"],
    denominator: ["vit-ln"],
  };
  const outcome = (v: Partial<Verdict>) => tables.verdictTable([{ ...base, ...v }]).rows[0][6];
  const scope = "model-to-model variation is not in the interval";
  assert.equal(outcome({}), `inconclusive (about these 2 models; ${scope})`);
  assert.equal(
    outcome({ source: "Table 1", outcome: "opposite", numerator: ["d"], denominator: ["a", "b"] }),
    `opposite (about these 3 models; ${scope})`,
  );
  // Groups of several models on both sides; cross-testing (pairs, not sides); untested.
  assert.equal(outcome({ numerator: ["a", "b"], denominator: ["c", "d"] }), "inconclusive");
  assert.equal(outcome({ source: "cross-testing", numerator: ["g: 1 models"] }), "inconclusive");
  assert.equal(outcome({ estimate: null, interval: null }), "inconclusive");
  assert.match(tables.verdictTable([base]).caption!, /\(images only, never models: /);
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

const COUNTING = {
  beam_width: 5,
  ph: 0.9,
  grid: 7,
  ratio: "gain",
  roots_counted: true,
  children: "first3",
  expand_threshold: 0.5,
};

Deno.test("what is counted is stated beside Table 1, and counted both ways", () => {
  const say = tables.countingStatement(COUNTING);
  assert.match(say, /the MSE itself, is counted \(so each MSE adds 1 at every threshold\)/);
  assert.match(
    say,
    /keeps 5 distinct states per level \(the reference keeps 6, repeats included\)/,
  );
  assert.match(tables.countingStatement({ ...COUNTING, roots_counted: false }), /not counted/);
  assert.match(
    tables.countingStatement({ ...COUNTING, beam: "reference" }),
    /keeps 6 states per level, repeats included \(the reference's rule, for width 5\)/,
  );
  const t1 = tables.table1Table(input.table1!, input.provenance!.models, "tree", COUNTING);
  assert.ok(t1.caption!.endsWith(say));
  // table1Row resamples each column from its own stream: the captions must not imply joint ones.
  const separate = /each column's interval comes from its own resample of the images/;
  assert.match(t1.caption!, separate);
  const iv = (mean: number) => ({ mean, lo: mean, hi: mean });
  const row = {
    model: "m",
    images: 3,
    mse_count: iv(4),
    mse_size: iv(5),
    tree: { "0.5": iv(30) },
    unique: { "0.5": iv(20) },
    proper: { tree: { "0.5": iv(26) }, unique: { "0.5": iv(16) } },
  };
  const c = tables.countingTable([row], COUNTING);
  assert.match(c.caption!, separate);
  assert.deepEqual(c.columns.slice(2), [
    "tree (roots counted)",
    "tree, proper subsets",
    "unique (roots counted)",
    "unique, proper subsets",
  ]);
  assert.deepEqual(c.rows[0], [
    "m",
    "4.00 [4.00, 4.00]",
    "30.00 [30.00, 30.00]",
    "26.00 [26.00, 26.00]",
    "20.00 [20.00, 20.00]",
    "16.00 [16.00, 16.00]",
  ]);
});

Deno.test("the calibration table has a row per model and the reference row, citing its file", () => {
  const t = tables.calibrationTable({
    ph: 0.9,
    rule: "The rule.",
    baseline: "a blur",
    models: [{
      model: "m",
      images: 500,
      mean_r0: 0.1075,
      suffices: 0.083,
      searched: 10,
      searched_suffices: 1,
    }],
    reference: {
      label: "ImageNet reference",
      source: "bench/baseline-regime.json",
      model: "mobilenetv2-12-int8",
      baseline: "paper blur",
      images: 300,
      mean_r0: 0.0069,
      suffices: 0,
    },
  });
  assert.deepEqual(t.rows[0], ["m", "500", "0.107", "8.30%", "1 of 10"]);
  assert.deepEqual(t.rows[1].slice(1), ["300", "0.0069", "0.00% (≥ Ph)", "n/a"]);
  assert.match(t.rows[1][0], /bench\/baseline-regime\.json/);
  assert.match(t.caption!, /The rule\./);
  assert.equal(t.columns[3], "baseline suffices (r(∅) > 0.9)");
});

Deno.test("the paper's groups and Table 2 sit beside this run's, row for row", () => {
  const g = tables.paperGroupsTable([{
    group: "older CNNs",
    paper_models: ["VGG19", "ResNet50"],
    paper: [6.85, 7.225, 40.565, 109.27, 185.795, 313.445],
    models: [],
    ours: [null, null, null, null, null, null],
  }]);
  assert.deepEqual(g.rows[0].slice(0, 4), ["older CNNs", "paper", "VGG19, ResNet50", "6.85"]);
  assert.deepEqual(g.rows[1].slice(0, 4), ["older CNNs", "this run", "none mapped", "n/a"]);
  const t2 = tables.paperTable2Table([{
    family: "ViT",
    variant: "bn",
    paper_model: "Swin-T-4-BN",
    paper: [9.4, 7.18, 42.92, 127.05, 387.41, 943.29],
    model: "vit-bn",
    ours: [10, 5, 50, 100, 150, 300],
    paper_vs_ln: 0.2206,
    ours_vs_ln: 1.5,
  }]);
  assert.deepEqual(t2.rows[0].slice(0, 4), ["ViT", "BN", "paper", "Swin-T-4-BN"]);
  assert.equal(t2.rows[0].at(-1), "0.22x");
  assert.equal(t2.rows[1].at(-1), "1.50x");
  for (const r of g.rows) assert.equal(r.length, g.columns.length);
  for (const r of t2.rows) assert.equal(r.length, t2.columns.length);
});
