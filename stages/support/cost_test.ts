import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../../tests/assert.ts";
import {
  averagesFrom,
  curvePoints,
  estimateEvaluations,
  igosRows,
  type ManifestSample,
  parseThroughput,
  type PlanInput,
  type PlanParams,
  stageHours,
  totalForward,
  totalGradient,
} from "./cost.ts";

const params: PlanParams = {
  "mse-search": {
    images: 0,
    grid: 7,
    beamWidth: 5,
    candidates: "igos-topq",
    igosIterations: 2,
    igosSteps: 20,
  },
  "igos-heatmaps": {
    images: 0,
    method: "igos++",
    maskSize: 28,
    iterations: 20,
    steps: 20,
    riseMasks: 2000,
  },
  "cross-test": { images: 0, cellsPerStep: 16, deletion: true },
};

const input = (over: Partial<PlanInput> = {}): PlanInput => ({
  models: ["a", "b", "c"],
  images: 120,
  chunk: 50,
  params,
  measured: {},
  ...over,
});

const byStage = (xs: ReturnType<typeof estimateEvaluations>) =>
  Object.fromEntries(xs.map((s) => [s.stage, s]));

Deno.test("baselines and cross-test follow their closed forms", () => {
  const s = byStage(estimateEvaluations(input()));
  assertEquals(totalForward(s["infer-baselines"]), 2 * 120 * 3);
  assertEquals(curvePoints(28, 16), 50);
  // models² × images × 2 curves × 50 points.
  assertEquals(totalForward(s["cross-test"]), 3 * 3 * 120 * 2 * 50);
  assertEquals(s["cross-test"].units, 3 * 3 * 3);
  assertEquals(s["mse-search"].units, 3 * 3);
  assertEquals(s.preprocess.units, 3);
  assertEquals(totalForward(s.kpca) + totalForward(s.report), 0);
});

Deno.test("iGOS++ rows: iterations × 4 terms × steps gradients, (1 + trials) × 4 × steps forward", () => {
  assertEquals(igosRows(20, 20, 4, 8), { gradient: 1600, forward: 20 * 9 * 80 });
  const s = byStage(estimateEvaluations(input(), { lineSearchTrials: 3 }));
  assertEquals(totalGradient(s["igos-heatmaps"]), 3 * 120 * 20 * 4 * 20);
  assertEquals(totalForward(s["igos-heatmaps"]), 3 * 120 * 20 * 4 * 4 * 20);
  // Unmeasured igos-topq MSE search adds I-GOS 7x7 (1 term) to the beam's own rows.
  assertEquals(totalGradient(s["mse-search"]), 3 * 120 * 2 * 20);
  assertEquals(totalForward(s["mse-search"]), 3 * 120 * (800 + 2 * 4 * 20));
});

Deno.test("image limits: stage images cap, cross-test only where heatmaps exist", () => {
  const p = structuredClone(params);
  p["mse-search"].images = 30;
  p["igos-heatmaps"].images = 60;
  p["cross-test"].images = 0;
  const s = byStage(estimateEvaluations(input({ params: p })));
  assertEquals(s["mse-search"].images, 30);
  assertEquals(s["subtree-count"].images, 30);
  assertEquals(s["igos-heatmaps"].images, 60);
  // Heatmaps cover 2 chunks of 50, so cross-test's "all" means the 100 images of those chunks.
  assertEquals(s["cross-test"].images, 100);
  assertEquals(s["cross-test"].units, 3 * 3 * 2);
});

Deno.test("measured averages replace defaults, only from matching search settings", () => {
  const sample = (
    stage: string,
    images: number,
    counters: Record<string, number>,
    p: Record<string, unknown>,
  ): ManifestSample => ({ stage, model: "m", images, counters, params: p });
  const search = { candidates: "igos-topq", grid: 7, beamWidth: 5 };
  const samples = [
    sample("mse-search", 10, { modelEvals: 9000, gradientEvals: 400 }, search),
    sample("mse-search", 10, { modelEvals: 1e9 }, { ...search, beamWidth: 2 }),
    sample("subtree-count", 10, { modelEvals: 5000 }, search),
    // 5 trials per iteration: forward = it × 6 × 4 × steps per image.
    sample("igos-heatmaps", 4, { modelEvals: 4 * 3 * 6 * 4 * 10 }, {
      method: "igos++",
      iterations: 3,
      steps: 10,
    }),
  ];
  const m = averagesFrom(samples, params);
  assertEquals(m.mseEvalsPerImage?.value, 900);
  assertEquals(m.mseGradientsPerImage?.value, 40);
  assertEquals(m.subtreeEvalsPerImage?.value, 500);
  assertAlmostEquals(m.lineSearchTrials!.value, 5, 1e-9);
  assert(m.mseEvalsPerImage!.source.includes("measured"));
  const s = byStage(estimateEvaluations(input({ measured: m })));
  assertEquals(totalForward(s["mse-search"]), 3 * 120 * 900);
  assertEquals(totalForward(s["subtree-count"]), 3 * 120 * 500);
  assertEquals(totalForward(s["igos-heatmaps"]), 3 * 120 * 20 * 6 * 4 * 20);
  assert(s["igos-heatmaps"].basis.includes("measured"));
  // Nothing matching: defaults, said to be assumed.
  const none = averagesFrom([samples[1]], params);
  assertEquals(none.mseEvalsPerImage, undefined);
  assert(
    byStage(estimateEvaluations(input({ measured: none })))["mse-search"].basis
      .includes("assumed"),
  );
});

Deno.test("hours: each model's rows at its own rate, gradients weighted", () => {
  const s = byStage(estimateEvaluations(input()));
  const rate = (m: string) => (m === "a" ? 100 : 200);
  const h = stageHours(s["cross-test"], rate, 3);
  const per = 3 * 120 * 2 * 50;
  assertAlmostEquals(h, (per / 100 + per / 200 + per / 200) / 3600, 1e-12);
  const g = stageHours(s["igos-heatmaps"], () => 1000, 3);
  const rows = totalForward(s["igos-heatmaps"]) + 3 * totalGradient(s["igos-heatmaps"]);
  assertAlmostEquals(g, rows / 1000 / 3600, 1e-9);
});

Deno.test("throughput files: rates, default, device; errors name the file and key", () => {
  const t = parseThroughput(
    { device: "1x H100", a: 10, default: 5, gradientCost: 2.5, "//": "comment" },
    "t.json",
  );
  assertEquals(t, { device: "1x H100", rates: { a: 10 }, default: 5, gradientCost: 2.5 });
  assertThrows(() => parseThroughput({ a: "fast" }, "t.json"), /t\.json: a: expected a positive/);
  assertThrows(() => parseThroughput([1], "t.json"), /t\.json/);
});

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
    cwd: new URL("../..", import.meta.url).pathname,
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
