import { assert, assertEquals } from "../tests/assert.ts";
import { loadPipeline } from "./app.ts";
import { planAll } from "../pipeline/plan.ts";
import { estimateStages } from "../pipeline/estimate.ts";

Deno.test("xcompare plan on configs/paper.json works without any ONNX file", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "cli/main.ts",
      "plan",
      "--config",
      "configs/paper.json",
      "--throughput",
      "tools/export/throughput.h100.example.json",
      "--json",
      "--no-measure",
    ],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(r.success, new TextDecoder().decode(r.stderr));
  const plan = JSON.parse(new TextDecoder().decode(r.stdout));
  assertEquals(plan.images, 5000);
  // The 13 Table 1 models; the optional Table 2 variants are skipped while absent.
  const present = plan.models.filter((m: { present: boolean }) => m.present).length;
  if (present === 0) {
    assertEquals(plan.models.length, 13);
    assert(plan.models.every((m: { fileSource: string }) => m.fileSource === "file"));
    assertEquals(plan.total.hoursHere, null);
  }
  const cross = plan.stages.find((s: { stage: string }) => s.stage === "cross-test");
  const m = plan.models.length;
  assertEquals(cross.forwardRows, m * m * 5000 * 2 * 50);
  assert(plan.total.hoursFile > 0);
});

Deno.test("plan times a config only from units of its models and its images", async () => {
  const { ranOnThisConfig } = await import("./plan.ts");
  const config = {
    dataset: { dir: "data/imagenet/val" },
    models: [{ onnx: "models/resnet50.onnx" }, { onnx: "models/vit.onnx" }],
  } as unknown as Parameters<typeof ranOnThisConfig>[0];
  const unit = (files: string[]) =>
    ({ components: { files: Object.fromEntries(files.map((f) => [f, "h"])) } }) as never;
  const relevant = ranOnThisConfig(config);
  assertEquals(relevant(unit(["models/resnet50.onnx"])), true);
  assertEquals(relevant(unit(["models/resnet50.onnx", "models/vit.onnx"])), true);
  assertEquals(relevant(unit(["zoo/models/cnn-bn.onnx"])), false, "another config's model");
  assertEquals(relevant(unit(["models/vit.onnx", "zoo/models/cnn-bn.onnx"])), false);
  assertEquals(relevant(unit([`${Deno.cwd()}/data/imagenet/val/a.JPEG`])), true);
  assertEquals(relevant(unit(["data/fashion-sample/0001_bag.png"])), false, "another dataset");
  assertEquals(relevant(unit([])), true, "no file: algebra on the models' results");
});

Deno.test("plan's unit count per stage is the number of units the stages plan", async () => {
  // The estimate runs without the models' files, so it counts units on its own; it must agree
  // with planAll, which is what a run executes. configs/default.json: every file is here.
  const root = new URL("..", import.meta.url).pathname;
  const { spec, config } = await loadPipeline(`${root}configs/default.json`);
  const planned = await planAll(spec);
  const est = await estimateStages(spec, { models: config.models.map((m) => m.id), images: 500 });
  const estimated = Object.fromEntries(est.stages.map((s) => [s.stage, s.units]));
  const actual = Object.fromEntries(planned.map((p) => [p.stage.name, p.units.length]));
  assertEquals(estimated, actual);
});

Deno.test("plan says when its hours rest on a placeholder or a throughput file's default", async () => {
  const root = new URL("..", import.meta.url).pathname;
  const store = await Deno.makeTempDir({ prefix: "xcompare-plan-" });
  const plan = async (...extra: string[]) => {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "cli/main.ts", "plan", "--json", "--no-measure", ...extra],
      cwd: root,
      env: { XCOMPARE_ARTIFACTS: store },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(r.success, new TextDecoder().decode(r.stderr));
    return JSON.parse(new TextDecoder().decode(r.stdout));
  };
  try {
    const bare = await plan();
    const modelled = bare.stages.filter((s: { forwardRows: number }) => s.forwardRows > 0);
    assert(modelled.length > 0);
    for (const s of modelled) assertEquals(s.hoursHereBasis, "assumed", s.stage);
    assert(bare.notes.some((n: string) => n.includes("placeholder, not a measurement")));
    const filed = await plan("--throughput", "tools/export/throughput.h100.example.json");
    assert(
      filed.notes.some((n: string) =>
        n.startsWith("16 of 16 models are not in the throughput file and take its default")
      ),
      filed.notes.join("\n"),
    );
  } finally {
    await Deno.remove(store, { recursive: true });
  }
});
