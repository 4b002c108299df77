import assert from "node:assert/strict";
import type { Table1Row } from "./input.ts";
import { comparePaper, matchPaperRow, type PaperFacts, parsePaperFacts } from "./paper.ts";

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

Deno.test("parsePaperFacts names the file and the bad row", () => {
  assert.throws(() => parsePaperFacts("{", "f.json"), /f\.json: invalid JSON/);
  assert.throws(() => parsePaperFacts("{}", "f.json"), /f\.json: expected key "table1"/);
  assert.throws(
    () => parsePaperFacts('{"table1": [["t", "m", 1]]}', "f.json"),
    /f\.json: table1\[0\]/,
  );
});

Deno.test({
  name: "the shared paper-facts.json parses and names all 13 Table 1 models",
  ignore: !hasShared,
  fn: async () => {
    const facts = parsePaperFacts(await Deno.readTextFile(SHARED), SHARED.pathname);
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
