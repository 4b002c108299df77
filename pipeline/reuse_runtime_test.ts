/**
 * `reuseRuntimes`: a run keyed with one runtime reuses the units another runtime computed (a final
 * cluster job on a CPU node after GPU shards), computes only what is missing, keyed with its own,
 * and never touches stages that do not depend on the runtime.
 */
import { assert, assertEquals, assertNotEquals } from "../tests/assert.ts";
import { obj } from "../lib/schema.ts";
import { type RunOptions, runPipeline } from "./runner.ts";
import type { AnyStage, RuntimeIdentity } from "./stage.ts";
import { Store } from "./store.ts";

const GPU: RuntimeIdentity = { ortVersion: "1.30.0", provider: "cuda" };
const CPU: RuntimeIdentity = { ortVersion: "1.30.0", provider: "cpu" };
const quiet: Partial<RunOptions> = { progress: { live: false, write: () => {} }, log: () => {} };

const ran: Record<string, number> = {};

/** "model" runs a (pretend) model per item; "summary" reads them all and runs none. */
const stages: AnyStage[] = [{
  name: "model",
  after: [],
  module: import.meta.url,
  params: obj({}),
  plan: () => ["a", "b", "c"].map((id) => ({ id, params: { id }, inputs: [], runtime: true })),
  async run(unit, io) {
    ran.model = (ran.model ?? 0) + 1;
    await io.writeJson("score.json", { id: unit.id, score: unit.id.charCodeAt(0) });
  },
}, {
  name: "summary",
  after: ["model"],
  module: import.meta.url,
  params: obj({}),
  plan: ({ upstream }) => [{
    id: "all",
    params: {},
    inputs: upstream.model.map((u) => ({ stage: "model", unit: u.id })),
  }],
  async run(unit, io) {
    ran.summary = (ran.summary ?? 0) + 1;
    let sum = 0;
    for (const r of unit.inputs) {
      sum += (await io.readInputJson<{ score: number }>(r, "score.json")).score;
    }
    await io.writeJson("sum.json", { sum });
  },
}];

function spec(root: string, runtime: RuntimeIdentity, probes: RuntimeIdentity[]) {
  return {
    stages,
    config: {},
    stageParams: () => ({}),
    store: new Store(root),
    runtime: () => {
      probes.push(runtime);
      return Promise.resolve(runtime);
    },
  };
}

const reset = () => Object.keys(ran).forEach((k) => delete ran[k]);
const keysOf = (r: Awaited<ReturnType<typeof runPipeline>>, stage: string) =>
  r.records.filter((x) => x.stage === stage).map((x) => x.key);

Deno.test("a CPU run reuses the GPU's units through reuseRuntimes, and only through it", async () => {
  const root = await Deno.makeTempDir();
  try {
    reset();
    const gpu = await runPipeline(spec(root, GPU, []), quiet);
    assertEquals(ran, { model: 3, summary: 1 });

    // With the GPU's identity to reuse: nothing computed, the runtime never even probed.
    reset();
    const probes: RuntimeIdentity[] = [];
    const final = await runPipeline(spec(root, CPU, probes), { ...quiet, reuseRuntimes: [GPU] });
    assertEquals(ran, {});
    assertEquals(probes, []);
    assertEquals(final.summaries.map((s) => [s.stage, s.reused]), [["model", 3], ["summary", 1]]);
    assertEquals(keysOf(final, "model"), keysOf(gpu, "model"), "the GPU's keys, reused");
    for (const r of final.records.filter((x) => x.stage === "model")) {
      assertEquals(r.manifest!.components.runtime, GPU);
    }

    // Without it, the CPU's own keys: every model unit again; the summary's inputs hash the same
    // outputs, and it keys on no runtime, so it is reused.
    reset();
    const cpu = await runPipeline(spec(root, CPU, []), quiet);
    assertEquals(ran, { model: 3 });
    for (const k of keysOf(cpu, "model")) assert(!keysOf(gpu, "model").includes(k));
    assertEquals(keysOf(cpu, "summary"), keysOf(gpu, "summary"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("reuseRuntimes: a unit the GPU did not compute is computed here, keyed with this runtime", async () => {
  const root = await Deno.makeTempDir();
  try {
    reset();
    const gpu = await runPipeline(spec(root, GPU, []), quiet);
    const b = gpu.records.find((r) => r.stage === "model" && r.unit === "b")!;
    await Deno.remove(`${root}/model/${b.key}`, { recursive: true });
    reset();
    const final = await runPipeline(spec(root, CPU, []), { ...quiet, reuseRuntimes: [GPU] });
    assertEquals(ran, { model: 1 }, "only b; the summary's inputs hash the same outputs");
    const nb = final.records.find((r) => r.stage === "model" && r.unit === "b")!;
    assertEquals(nb.outcome, "computed");
    assertEquals(nb.manifest!.components.runtime, CPU);
    assertNotEquals(nb.key, b.key);
    // --force recomputes with this runtime, whatever was recorded.
    reset();
    await runPipeline(spec(root, CPU, []), { ...quiet, reuseRuntimes: [GPU], force: ["model"] });
    assertEquals(ran.model, 3);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
