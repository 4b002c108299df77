import assert from "node:assert/strict";
import { join } from "node:path";
import type { ReportInput } from "./input.ts";
import { renderReport, RESULTS_SCHEMA } from "./render.ts";
import type { PaperFacts } from "./paper.ts";
import { explorerFixture } from "../tests/fixtures/explorer_fixture.ts";

const FIXTURE = new URL("../tests/fixtures/report_input.json", import.meta.url);
const fixture = (): ReportInput => JSON.parse(Deno.readTextFileSync(FIXTURE));
const HOSTILE = "<script>alert(1)</script>";
const FIGURES = [
  "fig3-insertion",
  "fig4-mse",
  "fig5-channels",
  "fig6-landscape",
  "fig7-cross-test",
  "fig8-group-matrix",
  "subexpl-counts",
];

async function withTemp(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-report-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("renderReport writes md, html, results.json and every figure", async () => {
  await withTemp(async (out) => {
    const input = fixture();
    const r = await renderReport(input, out);
    assert.deepEqual(r.derived.figures, FIGURES);
    for (const name of FIGURES) {
      for (const ext of [".vl.json", ".svg", ".png"]) {
        const st = await Deno.stat(join(out, "figures", name + ext));
        assert.ok(st.size > 500, `${name}${ext} is too small`);
      }
    }
    assert.equal(r.files.length, FIGURES.length * 3 + 3);

    // Markdown: tables, figure links, escaped hostile label.
    const md = await Deno.readTextFile(join(out, "report.md"));
    for (const name of FIGURES) assert.ok(md.includes(`](figures/${name}.png)`), name);
    for (const row of input.table1!) {
      assert.ok(md.includes(`| ${row.model.replace(/_/g, "\\_")} |`));
    }
    assert.ok(!md.includes(HOSTILE));
    assert.ok(md.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert.ok(!/<(script|img|iframe)/i.test(md), "raw HTML in markdown");

    // HTML: self-contained, specs equal the files, hostile label never markup.
    const html = await Deno.readTextFile(join(out, "report.html"));
    assert.equal((html.match(/<script\b/g) ?? []).length, 5);
    assert.ok(!html.includes(HOSTILE));
    assert.ok(html.includes("Content-Security-Policy"));
    assert.ok(!/(src|href)="https?:/i.test(html), "external reference in report.html");
    for (const lib of ["vega", "vega-lite", "vega-embed"]) {
      assert.match(html, new RegExp(`data-lib="${lib}@\\d+\\.\\d+\\.\\d+"`));
    }
    const json = html.match(/<script type="application\/json" id="xc-specs">(.*?)<\/script>/s)![1];
    const specs = JSON.parse(json);
    assert.deepEqual(Object.keys(specs), FIGURES);
    for (const name of FIGURES) {
      const file = JSON.parse(await Deno.readTextFile(join(out, "figures", `${name}.vl.json`)));
      assert.deepEqual(specs[name], file);
    }

    // results.json: the input, with its verdicts listed as derived (the layout CI compares).
    const res = JSON.parse(await Deno.readTextFile(join(out, "results.json")));
    assert.equal(res.schema, RESULTS_SCHEMA);
    const { verdicts, ...measured } = input;
    assert.deepEqual(res.input, measured);
    assert.deepEqual(res.derived.verdicts, verdicts);
    assert.equal(res.derived.verdicts.length, 4);
    assert.deepEqual(res.derived.verdicts, JSON.parse(JSON.stringify(r.derived.verdicts)));
    assert.deepEqual(res.derived.figures.map((f: { name: string }) => f.name), FIGURES);
    assert.equal(res.derived.paper_comparison, null);
    assert.equal(res.derived.paper_table1_groups, null);
  });
});

Deno.test("a design puts the paper's Table 1 groups and Table 2 beside the run's", async () => {
  const input: ReportInput = {
    ...fixture(),
    design: {
      table1: { "older CNNs": ["resnet18-bn", "vgg11-bn"], ConvNeXt: ["convnext-atto"] },
      normAblations: [{
        family: "ConvNeXt",
        models: { ln: "convnext-atto" },
        paper: { ln: "ConvNeXt-T-3", bn: "ConvNeXt-T-3-BN" },
      }],
    },
  };
  await withTemp(async (out) => {
    const r = await renderReport(input, out);
    assert.equal(r.derived.paperGroups!.length, 5);
    assert.deepEqual(r.derived.paperTable2!.map((x) => x.variant), ["ln", "bn"]);
    const md = await Deno.readTextFile(join(out, "report.md"));
    assert.ok(md.includes("Table 1 beside the paper, group by group"));
    assert.ok(md.includes("| older CNNs | paper | VGG19, ResNet50 | 6.84 |"), md);
    assert.ok(md.includes("| ConvNeXt | BN | this run | no analog |"));
    const res = JSON.parse(await Deno.readTextFile(join(out, "results.json")));
    assert.equal(res.derived.paper_table1_groups[0].group, "older CNNs");
    assert.equal(res.input.design.table1.ConvNeXt[0], "convnext-atto");
  });
});

Deno.test("paper_columns shows the paper's numbers beside ours", async () => {
  const iv = (mean: number) => ({ mean, lo: mean * 0.9, hi: mean * 1.1 });
  const facts: PaperFacts = {
    table1_columns: [],
    table1: [["older CNNs", "VGG19", 6.93, 7.17, 27.45, 109.99, 191.15, 329.97]],
  };
  const input: ReportInput = {
    run: { id: "p", config: "paper", created: "2025-01-01T00:00:00Z" },
    provenance: {
      config: {},
      models: [{ id: "vgg19.tv_in1k", group: "older CNNs", paper_name: "VGG19" }],
    },
    paper_columns: true,
    table1: [{
      model: "vgg19.tv_in1k",
      images: 100,
      mse_count: iv(6.93 * 1.5),
      mse_size: iv(7.17),
      tree: { "0.8": iv(27.45), "0.7": iv(110), "0.6": iv(191.15), "0.5": iv(329.97 / 2) },
    }],
  };
  await withTemp(async (out) => {
    const r = await renderReport(input, out, { paperFacts: facts });
    const cmp = r.derived.paperComparison!;
    assert.equal(cmp[0].paper_model, "VGG19");
    const md = await Deno.readTextFile(join(out, "report.md"));
    assert.ok(md.includes("Table 1 beside the paper"));
    assert.ok(md.includes(" | 6.93 | 1.50x |"), md);
    assert.ok(md.includes("| 164.99 | 329.97 | 0.50x |"));
    // No per-image values and no traits: no verdicts section.
    assert.equal(r.derived.verdicts, undefined);
    assert.ok(!md.includes("Mini-replication"));
    const html = await Deno.readTextFile(join(out, "report.html"));
    assert.ok(html.includes('id="tbl-paper-comparison"'));
  });
});

Deno.test("a minimal input renders; missing paper facts fail clearly", async () => {
  await withTemp(async (out) => {
    const input: ReportInput = { run: { id: "m", config: "default", created: "now" } };
    const r = await renderReport(input, out);
    assert.deepEqual(r.derived.figures, []);
    const html = await Deno.readTextFile(join(out, "report.html"));
    assert.ok(html.includes("xcompare report: m"));
    const bad = { ...fixture(), paper_columns: true };
    await assert.rejects(
      () => renderReport(bad, out, { paperFactsPath: join(out, "nope.json") }),
      /the paper's numbers cannot be read from .*nope\.json/,
    );
    await assert.rejects(
      () => renderReport({ run: { id: "x" } } as unknown as ReportInput, out),
      /report input: \$\.run\.config/,
    );
  });
});

Deno.test("skipped images are counted and listed in report.md, report.html and results.json", async () => {
  await withTemp(async (out) => {
    const run = { id: "s", config: "default", created: "now" };
    const skipped_images = {
      count: 2,
      images: [
        {
          id: `bad${HOSTILE}.png`,
          reason: "labels.csv line 4: label 12 is outside the 10 classes",
        },
        { id: "sub/x.png", reason: "not a decodable image: the file is text, not image data" },
      ],
    };
    await renderReport({ run, skipped_images }, out);
    const md = await Deno.readTextFile(join(out, "report.md"));
    assert.match(md, /## Skipped images/);
    assert.match(md, /2 images were skipped: they are in no number of this report\./);
    assert.match(md, /sub\/x\.png \| not a decodable image/);
    const html = await Deno.readTextFile(join(out, "report.html"));
    assert.ok(html.includes("label 12 is outside the 10 classes"));
    assert.ok(!html.includes(HOSTILE), "ids are escaped");
    const results = JSON.parse(await Deno.readTextFile(join(out, "results.json")));
    assert.deepEqual(results.input.skipped_images, skipped_images);

    await renderReport({ run, skipped_images: { count: 0, images: [] } }, out);
    assert.match(await Deno.readTextFile(join(out, "report.md")), /No image was skipped\./);
    await assert.rejects(
      () => renderReport({ run, skipped_images: { count: 3, images: [] } }, out),
      /report input: \$\.skipped_images\.count: differs from the images listed/,
    );
  });
});

Deno.test("the explorer, warnings, methods and glossary render; results.json leaves the explorer out", async () => {
  await withTemp(async (out) => {
    const input = fixture();
    input.explorer = explorerFixture(input.provenance!.models.map((m) => m.id));
    input.warnings = [{ source: "kpca/all", message: HOSTILE }];
    await renderReport(input, out);
    const html = await Deno.readTextFile(join(out, "report.html"));
    // The specs, three libraries, the main script, the explorer's data and its script.
    assert.equal((html.match(/<script\b/g) ?? []).length, 7);
    assert.ok(!html.includes(HOSTILE));
    const data = html.match(
      /<script type="application\/json" id="xc-explorer-data">(.*?)<\/script>/s,
    );
    const parsed = JSON.parse(data![1]);
    assert.deepEqual(parsed.explorer, JSON.parse(JSON.stringify(input.explorer)));
    assert.deepEqual(
      parsed.models.map((m: { id: string }) => m.id).sort(),
      input.provenance!.models.map((m) => m.id).sort(),
    );
    for (const id of ["sec-warnings", "sec-explorer", "sec-methods", "tbl-glossary"]) {
      assert.ok(html.includes(`id="${id}"`), id);
    }
    const md = await Deno.readTextFile(join(out, "report.md"));
    assert.ok(md.includes("## Methods and glossary") && md.includes("## Warnings (1)"));
    assert.ok(md.includes("open report.html to explore 3 images across 5 models"));
    assert.ok(!md.includes(HOSTILE));
    const res = JSON.parse(await Deno.readTextFile(join(out, "results.json")));
    assert.equal("explorer" in res.input, false);
    assert.deepEqual(res.input.warnings, input.warnings);
  });
});
