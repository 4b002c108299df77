/**
 * The engine's own overhead: a fully cached `reproduce` of a 200-unit synthetic DAG (every unit
 * reused, so what is timed is planning, keying, store checks and bookkeeping). Target: < 1 s.
 */
import { runPipeline } from "../pipeline/runner.ts";
import { Store } from "../pipeline/store.ts";
import { syntheticStages } from "../tests/fixtures/synthetic_stages.ts";

const root = await Deno.makeTempDir();
const spec = {
  stages: syntheticStages,
  // 99 source + 99 square + total + side = 200 units.
  config: { items: Array.from({ length: 99 }, (_, i) => `item${i}`) },
  stageParams: () => ({}),
  store: new Store(root),
  runtime: () => Promise.resolve({ ortVersion: "bench", provider: "cpu" as const }),
};
const quiet = { progress: { live: false, write: () => {} }, log: () => {} };
await runPipeline(spec, quiet);

Deno.bench("fully cached reproduce of a 200-unit DAG", { n: 20 }, async () => {
  const r = await runPipeline(spec, quiet);
  const reused = r.summaries.reduce((a, s) => a + s.reused, 0);
  if (reused !== 200) throw new Error(`expected 200 reused units, got ${reused}`);
});

Deno.bench("fully cached reproduce of a 200-unit DAG with --verify", { n: 10 }, async () => {
  await runPipeline(spec, { ...quiet, verify: true });
});
