import { assertEquals } from "../tests/assert.ts";
import { syntheticStages } from "../tests/fixtures/synthetic_stages.ts";
import { obj } from "../lib/schema.ts";
import { runPipeline } from "../pipeline/runner.ts";
import type { AnyStage } from "../pipeline/stage.ts";
import { Store } from "../pipeline/store.ts";
import { runWarnings } from "./run_warnings.ts";

/** A stage that warns once per unit, as kpca does about an ill-conditioned normalisation. */
const noisy: AnyStage = {
  name: "noisy",
  after: ["source"],
  module: import.meta.url,
  params: obj({}),
  plan: ({ upstream }) => [{
    id: "all",
    params: null,
    inputs: upstream.source.map((u) => ({ stage: "source", unit: u.id })),
  }],
  async run(_unit, io) {
    io.log("t - b = 0.05: its normalised scores are ill-conditioned");
    await io.writeJson("done.json", { ok: true });
  },
};

Deno.test("a unit's warning reaches the report whether the unit is computed or reused", async () => {
  const root = await Deno.makeTempDir({ prefix: "xcompare-warnings-" });
  const printed: string[] = [];
  const spec = {
    stages: [syntheticStages[0], noisy],
    config: { items: ["a", "b"] },
    stageParams: () => undefined,
    store: new Store(root),
    runtime: () => Promise.resolve({ ortVersion: "test", provider: "cpu" as const }),
  };
  const options = {
    progress: { live: false, write: () => {} },
    log: (l: string) => printed.push(l),
  };
  try {
    const expected = [{
      source: "noisy/all",
      message: "t - b = 0.05: its normalised scores are ill-conditioned",
    }];
    const first = await runPipeline(spec, options);
    assertEquals(runWarnings(first), expected);
    assertEquals(printed, ["noisy/all: t - b = 0.05: its normalised scores are ill-conditioned"]);
    const again = await runPipeline(spec, options);
    assertEquals(again.summaries.map((s) => s.reused), [2, 1]);
    assertEquals(runWarnings(again), expected, "the reused unit's warning is kept");
    assertEquals(printed.length, 1, "a reused unit does not print again");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
