/**
 * The synthetic DAG as a separate process for one shard (or the plain run), so a test can kill it
 * with SIGKILL mid-stage. Usage: synthetic_shard_run.ts <store> <nItems> [i/n]
 */
import { runPipeline } from "../../pipeline/runner.ts";
import { RunLock } from "../../pipeline/runlock.ts";
import { Store } from "../../pipeline/store.ts";
import { shardFlag } from "../../cli/args.ts";
import { syntheticStages } from "../fixtures/synthetic_stages.ts";

const [root, n, shardArg] = Deno.args;
const shard = shardFlag(shardArg);
// A short stale timeout: the lock of a shard killed with SIGKILL is taken over after 2 s, not 60.
const lock = await RunLock.acquire(
  root,
  shard ? `run-shard-${shard.index}-of-${shard.count}` : "run",
  { pollMs: 50, heartbeatMs: 200, staleMs: 2000 },
);
try {
  const result = await runPipeline({
    stages: syntheticStages,
    config: {
      items: Array.from({ length: Number(n) }, (_, i) => `item${String(i).padStart(3, "0")}`),
    },
    stageParams: () => ({}),
    store: new Store(root),
    runtime: () => Promise.resolve({ ortVersion: "none", provider: "cpu" }),
  }, { shard, progress: { live: false, write: () => {} }, log: () => {} });
  console.log(JSON.stringify(result.summaries.map((s) => [s.stage, s.computed, s.reused])));
  Deno.exit(result.stopped ? 143 : result.ok ? 0 : 1);
} finally {
  await lock.release();
}
