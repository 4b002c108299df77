import assert from "node:assert/strict";
import type { Table1Row } from "./input.ts";
import {
  comparePaper,
  compareTable1Groups,
  compareTable2,
  matchPaperRow,
  PAPER_FACTS_FILE,
  PAPER_GROUPS,
  type PaperFacts,
  parsePaperFacts,
} from "./paper.ts";

const SHARED = new URL("../../shared/docs/paper-facts.json", import.meta.url);
const hasShared = (() => {
  try {
    return Deno.statSync(SHARED).isFile;
  } catch {
    return false;
  }
})();

const FACTS: PaperFacts = {
  table1_columns: ["type", "model", "a", "b", "c", "d", "e", "f"],
  table1: [
    ["older CNNs", "ResNet50", 6.76, 7.28, 53.68, 108.55, 180.44, 296.92],
    ["Transformers", "DeiT-S", 8.95, 7.72, 72.09, 333.84, 1097.58, 2408.3],
  ],
  table2: [["Transformers", "Swin-T-4-BN", 9.4, 7.18, 42.92, 127.05, 387.41, 943.29]],
  timm_identifiers_likely: { "DeiT-S": "deit_small_patch16_224.fb_in1k", _note: "x" },
};

Deno.test("matchPaperRow by paper_name, normalised id, timm id", () => {
  assert.equal(matchPaperRow({ id: "x", paper_name: "ResNet50" }, FACTS)?.[1], "ResNet50");
  assert.equal(matchPaperRow({ id: "resnet-50" }, FACTS)?.[1], "ResNet50");
  assert.equal(matchPaperRow({ id: "deit_small_patch16_224.fb_in1k" }, FACTS)?.[1], "DeiT-S");
  assert.equal(matchPaperRow({ id: "swin_t_4_bn" }, FACTS)?.[1], "Swin-T-4-BN");
  assert.equal(matchPaperRow({ id: "vit-tiny" }, FACTS), undefined);
  // An explicit paper_name that is wrong does not fall back to guessing.
  assert.equal(matchPaperRow({ id: "resnet50", paper_name: "Nope" }, FACTS), undefined);
});

Deno.test("comparePaper puts ours beside the paper's with ratios", () => {
  const iv = (mean: number) => ({ mean, lo: mean, hi: mean });
  const rows: Table1Row[] = [
    {
      model: "resnet50",
      images: 10,
      mse_count: iv(6.76 * 2),
      mse_size: iv(7.28),
      tree: { "0.8": iv(53.68 / 2), "0.5": iv(296.92) },
    },
    { model: "mystery", images: 10, mse_count: iv(1), mse_size: iv(1), tree: {} },
  ];
  const [a, b] = comparePaper(rows, [{ id: "resnet50" }], FACTS);
  assert.equal(a.paper_model, "ResNet50");
  const v = Object.fromEntries(a.values.map((x) => [x.key, x]));
  assert.ok(Math.abs(v.mse_count.ratio! - 2) < 1e-12);
  assert.equal(v.mse_size.ratio, 1);
  assert.ok(Math.abs(v.sub_ge80.ratio! - 0.5) < 1e-12);
  assert.equal(v.sub_ge70.ours, null);
  assert.equal(v.sub_ge70.ratio, null);
  assert.equal(v.sub_ge70.paper, 108.55);
  assert.equal(b.paper_model, null);
  assert.deepEqual(b.values, []);
});

const iv = (mean: number) => ({ mean, lo: mean, hi: mean });
const ourRow = (model: string, count: number, sub50: number): Table1Row => ({
  model,
  images: 10,
  mse_count: iv(count),
  mse_size: iv(6),
  tree: { "0.8": iv(sub50 / 10), "0.7": iv(sub50 / 5), "0.6": iv(sub50 / 2), "0.5": iv(sub50) },
});

Deno.test("compareTable1Groups: the paper's group means beside the mapped models' means", () => {
  const rows = [ourRow("a", 10, 100), ourRow("b", 20, 300), ourRow("t", 8, 900)];
  const design = { table1: { "older CNNs": ["a", "b", "absent"], Transformers: ["t"] } };
  const g = compareTable1Groups(rows, design, FACTS);
  assert.deepEqual(g.map((x) => x.group), [...PAPER_GROUPS]);
  const older = g[0];
  assert.deepEqual(older.paper_models, ["ResNet50"]);
  assert.equal(older.paper[0], 6.76);
  assert.deepEqual(older.models, ["a", "b"]); // "absent" has no Table 1 row
  assert.equal(older.ours[0], 15);
  assert.equal(older.ours[5], 200);
  assert.deepEqual(g[3].paper_models, ["DeiT-S"]);
  assert.equal(g[3].ours[5], 900);
  assert.deepEqual(g[2].models, []);
  assert.deepEqual(g[2].ours, [null, null, null, null, null, null]);
  assert.deepEqual(g[2].paper_models, []);
});

Deno.test("compareTable2: each variant beside the paper's, with its ratio to LN", async () => {
  const facts = parsePaperFacts(await Deno.readTextFile(PAPER_FACTS_FILE), "paper_facts.json");
  const rows = [ourRow("ln", 10, 1000), ourRow("bn", 10, 250), ourRow("gn", 10, 1500)];
  const design = {
    normAblations: [{
      family: "Transformers",
      models: { ln: "ln", gn: "gn", bn: "bn" },
      paper: { base: "Swin-T", ln: "Swin-T-4", gn: "Swin-T-4-GN", bn: "Swin-T-4-BN" },
    }],
  };
  const t = compareTable2(rows, design, facts);
  assert.deepEqual(t.map((r) => r.variant), ["base", "ln", "gn", "bn"]);
  assert.equal(t[0].model, null); // no analog of Swin-T's wider window
  assert.equal(t[0].ours, null);
  assert.ok(Math.abs(t[0].paper_vs_ln! - 7268.2 / 4276.08) < 1e-12);
  const bn = t[3];
  assert.equal(bn.paper_model, "Swin-T-4-BN");
  assert.equal(bn.paper![5], 943.29);
  assert.ok(Math.abs(bn.paper_vs_ln! - 943.29 / 4276.08) < 1e-12);
  assert.equal(bn.ours_vs_ln, 0.25);
  assert.equal(t[2].ours_vs_ln, 1.5);
});

Deno.test("parsePaperFacts names the file and the bad row", () => {
  assert.throws(() => parsePaperFacts("{", "f.json"), /f\.json: invalid JSON/);
  // A wrong path must not print the file it names.
  assert.throws(
    () => parsePaperFacts("root:x:0:0:root:/root", "/etc/passwd"),
    (e: Error) => /\/etc\/passwd: invalid JSON/.test(e.message) && !e.message.includes("root:x"),
  );
  assert.throws(() => parsePaperFacts("{}", "f.json"), /f\.json: expected key "table1"/);
  assert.throws(
    () => parsePaperFacts('{"table1": [["t", "m", 1]]}', "f.json"),
    /f\.json: table1\[0\]/,
  );
});

Deno.test("the committed paper facts parse: 13 Table 1 rows in the paper's groups, 8 Table 2", async () => {
  const facts = parsePaperFacts(await Deno.readTextFile(PAPER_FACTS_FILE), "paper_facts.json");
  assert.equal(facts.table1.length, 13);
  assert.equal(facts.table2?.length, 8);
  for (const r of facts.table1) assert.ok((PAPER_GROUPS as readonly string[]).includes(r[0]), r[0]);
});

Deno.test({
  name: "the committed paper facts equal the shared paper-facts.json, whose 13 models match",
  ignore: !hasShared,
  fn: async () => {
    const facts = parsePaperFacts(await Deno.readTextFile(SHARED), SHARED.pathname);
    assert.deepEqual(facts, JSON.parse(await Deno.readTextFile(PAPER_FACTS_FILE)));
    assert.equal(facts.table1.length, 13);
    for (const [name, timm] of Object.entries(facts.timm_identifiers_likely ?? {})) {
      if (name.startsWith("_")) continue;
      assert.equal(matchPaperRow({ id: timm }, facts)?.[1], name);
    }
  },
});
if (!hasShared) {
  console.warn("paper_test: ../shared/docs/paper-facts.json absent, one test skipped");
}
