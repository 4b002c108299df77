import { join } from "node:path";
import { assert, assertAlmostEquals, assertEquals } from "../../tests/assert.ts";
import { curvePoints, igosRows } from "./cost.ts";
import { stages } from "../index.ts";
import type { Config } from "../../configs/schema.ts";
import {
  type Estimates,
  estimateStages,
  stageHours,
  totalForward,
  totalGradient,
} from "../../pipeline/estimate.ts";
import { Store } from "../../pipeline/store.ts";

/** A finished unit, written to the store as its manifest. */
interface Finished {
  stage: string;
  unit: string;
  params?: Record<string, unknown>;
  inputs?: Record<string, string>;
  outputHash?: string;
  counters: Record<string, number>;
}

/** The stages' estimates for 3 models on 120 images in chunks of 50, over a store of `finished`. */
async function estimate(
  over: { stages?: Record<string, unknown>; finished?: Finished[] } = {},
): Promise<Estimates> {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-cost-" });
  try {
    for (const [i, f] of (over.finished ?? []).entries()) {
      const entry = join(dir, f.stage, `key${i}`);
      await Deno.mkdir(entry, { recursive: true });
      await Deno.writeTextFile(
        join(entry, "manifest.json"),
        JSON.stringify({
          stage: f.stage,
          unit: f.unit,
          key: `key${i}`,
          components: { params: f.params ?? {}, inputs: f.inputs ?? {} },
          files: {},
          outputHash: f.outputHash ?? `out${i}`,
          counters: f.counters,
        }),
      );
    }
    const config = { dataset: { chunk: 50 }, stages: over.stages ?? {} } as unknown as Config;
    return await estimateStages({
      stages,
      config,
      stageParams: (s) => config.stages[s],
      store: new Store(dir),
      runtime: () => Promise.reject(new Error("plan never probes the runtime")),
    }, { models: ["a", "b", "c"], images: 120 });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const byStage = (e: Estimates) => Object.fromEntries(e.stages.map((s) => [s.stage, s]));

Deno.test("baselines and cross-test follow their closed forms", async () => {
  const s = byStage(await estimate());
  assertEquals(totalForward(s["infer-baselines"]), 2 * 120 * 3);
  assertEquals(curvePoints(28, 16), 50);
  // models² × images × 2 curves × 50 points.
  assertEquals(totalForward(s["cross-test"]), 3 * 3 * 120 * 2 * 50);
  assertEquals(s["cross-test"].units, 3 * 3 * 3);
  assertEquals(s["mse-search"].units, 3 * 3);
  assertEquals(s.preprocess.units, 3 + 1); // the chunks and the listing unit
  assertEquals(totalForward(s.kpca) + totalForward(s.report), 0);
});

Deno.test("iGOS++ rows: iterations × 4 terms × steps gradients, (1 + trials) × 4 × steps forward", async () => {
  assertEquals(igosRows(20, 20, 4, 8), { gradient: 1600, forward: 20 * 9 * 80 });
  // One finished iGOS++ unit measures 3 line-search trials: 16 rows = 1 × (1 + 3) × 4 × 1.
  const trials3: Finished = {
    stage: "igos-heatmaps",
    unit: "z/c0000",
    params: { count: 1, heatmaps: { method: "igos++", iterations: 1, steps: 1 } },
    counters: { modelEvals: 16 },
  };
  const s = byStage(await estimate({ finished: [trials3] }));
  assertEquals(totalGradient(s["igos-heatmaps"]), 3 * 120 * 20 * 4 * 20);
  assertEquals(totalForward(s["igos-heatmaps"]), 3 * 120 * 20 * 4 * 4 * 20);
  // Unmeasured igos-topq MSE search adds I-GOS 7x7 (1 term) to the beam's own rows.
  assertEquals(totalGradient(s["mse-search"]), 3 * 120 * 2 * 20);
  assertEquals(totalForward(s["mse-search"]), 3 * 120 * (800 + 2 * 4 * 20));
});

Deno.test("image limits: stage images cap, cross-test only where heatmaps exist", async () => {
  const s = byStage(
    await estimate({
      stages: {
        "mse-search": { images: 30 },
        "igos-heatmaps": { images: 60 },
        "cross-test": { images: 0 },
      },
    }),
  );
  assertEquals(s["mse-search"].images, 30);
  assertEquals(s["subtree-count"].images, 30);
  assertEquals(s["igos-heatmaps"].images, 60);
  // Heatmaps exist for the first 60 images (2 chunks of 50, the second partly), so cross-test's
  // "all" means those 60: a unit reads only its chunk's heatmaps.
  assertEquals(s["cross-test"].images, 60);
  assertEquals(s["cross-test"].units, 3 * 3 * 2);
});

Deno.test("measured averages replace defaults, only from matching search settings", async () => {
  const search = { candidates: "igos-topq", grid: 7, beamWidth: 5 };
  const finished: Finished[] = [
    {
      stage: "mse-search",
      unit: "m/c0000",
      params: { count: 10, search },
      outputHash: "mse0",
      counters: { modelEvals: 9000, gradientEvals: 400 },
    },
    {
      stage: "mse-search",
      unit: "m/c0001",
      params: { count: 10, search: { ...search, beamWidth: 2 } },
      counters: { modelEvals: 1e9 },
    },
    // A subtree unit covers the images of the search it read.
    {
      stage: "subtree-count",
      unit: "m/c0000",
      inputs: { "mse-search/m/c0000": "mse0" },
      counters: { modelEvals: 5000 },
    },
    // 5 trials per iteration: forward = it × 6 × 4 × steps per image.
    {
      stage: "igos-heatmaps",
      unit: "m/c0000",
      params: { count: 4, heatmaps: { method: "igos++", iterations: 3, steps: 10 } },
      counters: { modelEvals: 4 * 3 * 6 * 4 * 10 },
    },
  ];
  const e = await estimate({ finished });
  const m = e.measured;
  assertEquals(m.mseEvalsPerImage?.value, 900);
  assertEquals(m.mseGradientsPerImage?.value, 40);
  assertEquals(m.subtreeEvalsPerImage?.value, 500);
  assertAlmostEquals(m.lineSearchTrials!.value, 5, 1e-9);
  assert(m.mseEvalsPerImage!.source.includes("measured"));
  const s = byStage(e);
  assertEquals(totalForward(s["mse-search"]), 3 * 120 * 900);
  assertEquals(totalForward(s["subtree-count"]), 3 * 120 * 500);
  assertEquals(totalForward(s["igos-heatmaps"]), 3 * 120 * 20 * 6 * 4 * 20);
  assert(s["igos-heatmaps"].basis.includes("measured"));
  // Nothing matching: defaults, said to be assumed.
  const none = await estimate({ finished: [finished[1]] });
  assertEquals(none.measured.mseEvalsPerImage, undefined);
  assert(byStage(none)["mse-search"].basis.includes("assumed"));
});

Deno.test("hours: each model's rows at its own rate, gradients weighted", async () => {
  const s = byStage(await estimate());
  const rate = (m: string) => ({ forward: m === "a" ? 100 : 200 });
  const h = stageHours(s["cross-test"], rate, 3);
  const per = 3 * 120 * 2 * 50;
  assertAlmostEquals(h, (per / 100 + per / 200 + per / 200) / 3600, 1e-12);
  const g = stageHours(s["igos-heatmaps"], () => ({ forward: 1000 }), 3);
  const rows = totalForward(s["igos-heatmaps"]) + 3 * totalGradient(s["igos-heatmaps"]);
  assertAlmostEquals(g, rows / 1000 / 3600, 1e-9);
});

Deno.test("hours: gradient-graph rows at the gradient graph's measured rates", async () => {
  const s = byStage(await estimate({ stages: { "igos-heatmaps": { method: "igos++" } } }));
  const ig = s["igos-heatmaps"];
  // Every iGOS++ row runs on the gradient graph; none is left at the Scorer's rate.
  assertEquals(ig.gradientForward, ig.forward);
  const h = stageHours(ig, () => ({ forward: 1000, gradient: 10, gradientForward: 100 }), 3);
  assertAlmostEquals(h, (totalForward(ig) / 100 + totalGradient(ig) / 10) / 3600, 1e-9);
  // mse-search: only the I-GOS 7x7 share (360 of 1160 assumed forward rows/image) is on the graph.
  const ms = s["mse-search"];
  assertEquals(ms.gradientForward!.a, 360 * 120);
  const m = stageHours(ms, () => ({ forward: 1000, gradient: 10, gradientForward: 100 }), 3);
  assertAlmostEquals(m, (800 * 120 / 1000 + 360 * 120 / 100 + 40 * 120 / 10) * 3 / 3600, 1e-9);
});

Deno.test("measured averages come from the planned models when they have units", async () => {
  const search = { candidates: "igos-topq", grid: 7, beamWidth: 5 };
  const unit = (model: string, evals: number): Finished => ({
    stage: "mse-search",
    unit: `${model}/c0000`,
    params: { count: 10, search },
    counters: { modelEvals: evals, gradientEvals: 400 },
  });
  // A store holding another dataset's model beside a planned one lends nothing to the plan.
  const own = await estimate({ finished: [unit("zoo", 100_000), unit("a", 12_000)] });
  assertEquals(own.measured.mseEvalsPerImage?.value, 1200);
  assert(!own.measured.mseEvalsPerImage!.source.includes("none of them planned"));
  // With none of the planned models measured, other models' units are used, and said so.
  const other = await estimate({ finished: [unit("zoo", 100_000)] });
  assertEquals(other.measured.mseEvalsPerImage?.value, 10_000);
  assert(other.measured.mseEvalsPerImage!.source.includes("none of them planned here"));
});
