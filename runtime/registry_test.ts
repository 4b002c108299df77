import { assert, assertEquals, assertRejects } from "../tests/assert.ts";
import {
  cardBeside,
  missingModelFiles,
  missingModelsError,
  type ModelEntry,
  resolveModels,
} from "./registry.ts";

const entry = (id: string, onnx: string, optional = false) =>
  ({ id, onnx, optional, preprocess: {} }) as unknown as ModelEntry;

Deno.test("every absent required model is named at once, optional ones not", async () => {
  const entries = [
    entry("a", "zoo/models/cnn-bn-s1.onnx"),
    entry("b", "nowhere/b.onnx"),
    entry("c", "nowhere/c.onnx", true),
    entry("d", "nowhere/d.onnx"),
  ];
  const missing = await missingModelFiles(entries, "cfg");
  assertEquals(missing, ["cfg.models[1] (b): nowhere/b.onnx", "cfg.models[3] (d): nowhere/d.onnx"]);
  const msg = missingModelsError(missing, entries, "configs/x.json").message;
  assert(msg.startsWith("configs/x.json: 2 of 3 required model files not found"), msg);
  // resolveModels stops with the same list before opening any model.
  const e = await assertRejects(() => resolveModels(entries, "blur", "cfg"));
  assert((e as Error).message.includes("(b)") && (e as Error).message.includes("(d)"));
  // Models from the shared folder are not exported: the message says the folder is missing.
  const shared = [entry("m", "../shared/models/none.onnx")];
  const s = missingModelsError(await missingModelFiles(shared), shared, "c.json").message;
  assert(
    s.endsWith(
      "this config needs ../shared (the project's shared models and ImageNet sample), not found here",
    ),
    s,
  );
});

Deno.test("a model's implied card is beside it, never the model file itself", () => {
  assertEquals(cardBeside("zoo/models/a.onnx"), "zoo/models/a.json");
  assertEquals(cardBeside("m/B.ONNX"), "m/B.json");
  assertEquals(cardBeside("README.md"), "README.md.json");
});
