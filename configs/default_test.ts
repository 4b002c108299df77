import { assert, assertEquals } from "../tests/assert.ts";
import { configSchema } from "./schema.ts";
import { stages } from "../stages/index.ts";
import { resolveModels } from "../runtime/registry.ts";
import { checkDesign } from "../stages/report.ts";
import { PAPER_GROUPS } from "../report/paper.ts";

const raw = JSON.parse(await Deno.readTextFile(new URL("./default.json", import.meta.url)));

Deno.test("configs/default.json: its blur and ratio reach the models and the search", async () => {
  const c = configSchema.parse(raw, "config");
  for (const s of stages) s.params.parse(c.stages[s.name] ?? {}, `config.stages.${s.name}`);
  const mse = stages.find((s) => s.name === "mse-search")!.params.parse(
    c.stages["mse-search"],
    "mse-search",
  ) as { ratio: string };
  assertEquals(mse.ratio, "gain");
  const { models } = await resolveModels([c.models[0]], c.baseline);
  assertEquals(models[0].preprocess.baseline, "blur");
  assertEquals(models[0].preprocess.blur, { kernelFraction: 2, sigmaFraction: 1 });
  // The paper's plain "blur" keeps the card's (the scaled 51/224, 50/224) and "zero" stays zero.
  assertEquals((await resolveModels([c.models[0]], "blur")).models[0].preprocess.blur, "relative");
  assertEquals((await resolveModels([c.models[0]], "zero")).models[0].preprocess.baseline, "zero");
});

Deno.test("a baseline blur must give positive fractions", () => {
  const bad = { ...raw, baseline: { blur: { kernelFraction: 0, sigmaFraction: 1 } } };
  let msg = "";
  try {
    configSchema.parse(bad, "config");
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(/config\.baseline/.test(msg), msg);
  const parsed = configSchema.parse({ ...raw, baseline: "zero" }, "config");
  assertEquals(parsed.baseline, "zero");
});

Deno.test("configs/default.json declares its study design: every paper group and two ablations", () => {
  const c = configSchema.parse(raw, "config");
  const report = stages.find((s) => s.name === "report")!;
  const p = report.params.parse(c.stages.report, "report") as {
    design: Parameters<typeof checkDesign>[0];
  };
  const d = checkDesign(p.design, c)!;
  assertEquals(Object.keys(d.table1!), [...PAPER_GROUPS]);
  assertEquals(d.normAblations!.map((a) => a.family), ["ConvNeXt", "ViT"]);
  // Table 1's groups hold no ablation model, and no model twice.
  const t1 = Object.values(d.table1!).flat();
  assertEquals(new Set(t1).size, t1.length);
  for (const id of ["convnext-ln-k3", "convnext-bn-k3", "convnext-gn-k3", "vit-bn", "vit-gn"]) {
    assert(!t1.includes(id), id);
  }
});

Deno.test("a design naming an unknown group or model is an error that names the key", () => {
  const c = configSchema.parse(raw, "config");
  const err = (design: Parameters<typeof checkDesign>[0]) => {
    try {
      checkDesign(design, c);
    } catch (e) {
      return (e as Error).message;
    }
    return "";
  };
  assert(
    /design\.table1: "Old CNNs" is not one of the paper's groups/.test(
      err({ table1: { "Old CNNs": ["cnn-bn"] }, normAblations: [] }),
    ),
  );
  assert(
    /design\.normAblations\[0\]\.models\.bn: "vit-bm" is not a model of config default/.test(
      err({
        table1: {},
        normAblations: [{ family: "ViT", models: { ln: "vit-ln", bn: "vit-bm" } }],
      }),
    ),
  );
  assertEquals(checkDesign({ table1: {}, normAblations: [] }, c), undefined);
});
