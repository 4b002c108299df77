import { assert, assertEquals } from "../tests/assert.ts";
import { configSchema } from "./schema.ts";
import { stages } from "../stages/index.ts";
import { listFolderWithLabels } from "../runtime/datasets.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const raw = JSON.parse(await Deno.readTextFile(new URL("./imagenet-sample.json", import.meta.url)));
const paper = JSON.parse(await Deno.readTextFile(new URL("./paper.json", import.meta.url)));
const shared = (() => {
  try {
    Deno.statSync(`${ROOT}../shared/models/mobilenetv2-12-int8.onnx`);
    Deno.statSync(`${ROOT}../shared/data/imagenet-sample/labels.tsv`);
    return true;
  } catch {
    return false;
  }
})();
if (!shared) {
  console.log(
    "imagenet_sample_test: ../shared is missing (a fresh clone); skipping the test that lists " +
      "configs/imagenet-sample.json's images and model",
  );
}

Deno.test("configs/imagenet-sample.json validates with the config and every stage schema", () => {
  const c = configSchema.parse(raw, "configs/imagenet-sample.json");
  for (const s of stages) s.params.parse(c.stages[s.name] ?? {}, `config.stages.${s.name}`);
  assertEquals(c.models.map((m) => m.onnx), ["../shared/models/mobilenetv2-12-int8.onnx"]);
  assertEquals(c.baseline, "blur");
  assertEquals(c.upsample, "bilinear");
  // The paper's search and counting: every param of paper.json's two stages, the ratio included.
  const mse = stages.find((s) => s.name === "mse-search")!.params;
  const sub = stages.find((s) => s.name === "subtree-count")!.params;
  const ours = mse.parse(c.stages["mse-search"], "ours") as Record<string, unknown>;
  const theirs = mse.parse(paper.stages["mse-search"], "paper") as Record<string, unknown>;
  assertEquals({ ...ours, images: 0 }, { ...theirs, images: 0 });
  assertEquals(ours.ratio, "paper");
  assertEquals(ours.beam, "distinct");
  assertEquals((mse.parse({ beam: "reference" }, "x") as { beam: string }).beam, "reference");
  let err: Error | undefined;
  try {
    mse.parse({ beam: "wide" }, "configs/x.json: stages.mse-search");
  } catch (e) {
    err = e as Error;
  }
  assert(err && /stages\.mse-search\.beam/.test(err.message), err?.message);
  assertEquals(
    sub.parse(c.stages["subtree-count"], "ours"),
    sub.parse(paper.stages["subtree-count"], "paper"),
  );
  // Its row stands beside the paper's older CNNs; the single-model stages are kept small.
  const design = c.stages.report as { design: { table1: Record<string, string[]> } };
  assertEquals(design.design.table1, { "older CNNs": ["mobilenetv2"] });
  for (const s of ["igos-heatmaps", "cross-test"]) {
    const images = (c.stages[s] as { images: number }).images;
    assert(images > 0 && images <= 2, `${s}.images ${images}`);
  }
  for (const k of ["model", "singleModel", "magnitude"]) {
    assert(typeof (raw.notes as Record<string, unknown>)[k] === "string", `notes.${k}`);
  }
});

Deno.test({
  name: "configs/imagenet-sample.json names the 300 shared images and a model that exists",
  ignore: !shared,
  fn() {
    const c = configSchema.parse(raw, "configs/imagenet-sample.json");
    const ds = listFolderWithLabels(`${ROOT}${c.dataset.dir}`, `${ROOT}${c.dataset.labels}`);
    assertEquals(ds.items.length, 300);
    assert(Deno.statSync(`${ROOT}${c.models[0].onnx}`).isFile);
    assert(Deno.statSync(`${ROOT}${c.dataset.classes}`).isFile);
  },
});
