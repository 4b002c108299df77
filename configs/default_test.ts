import { assert, assertEquals } from "../tests/assert.ts";
import { configSchema } from "./schema.ts";
import { stages } from "../stages/index.ts";
import { resolveModels } from "../runtime/registry.ts";

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
