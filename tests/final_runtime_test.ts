/**
 * The provider is keyed only where a model runs, and a cluster run's final job keys model stages
 * with the runtime its shards recorded: shards that ran "on a GPU" (a fake identity: the numbers
 * come from the CPU, only the key and the record say cuda) leave a final job on this CPU-only
 * machine nothing to recompute but kpca and the report.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { loadPipeline } from "../cli/app.ts";
import { runRecord } from "../cli/run_record.ts";
import { planWaves, shardRunName } from "../pipeline/cluster.ts";
import { planAll } from "../pipeline/plan.ts";
import { runPipeline } from "../pipeline/runner.ts";
import { Store } from "../pipeline/store.ts";
import { ortVersion } from "../runtime/session.ts";
import { stages } from "../stages/index.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const TINY = "tests/slurm/tiny.json";
const quiet = { progress: { live: false, write: () => {} }, log: () => {} };
const MODEL_FREE = ["preprocess", "kpca", "report"];

Deno.test("only stages that run a model key on the runtime", async () => {
  const cwd = Deno.cwd();
  Deno.chdir(ROOT);
  try {
    const { spec } = await loadPipeline(TINY);
    for (const { stage, units } of await planAll(spec)) {
      const keyed = units.map((u) => u.runtime === true);
      assertEquals(
        keyed,
        units.map(() => !MODEL_FREE.includes(stage.name)),
        `${stage.name}'s units`,
      );
    }
  } finally {
    Deno.chdir(cwd);
  }
});

Deno.test("a final job on a CPU node reuses its GPU shards' units and reports their provider", async () => {
  const tag = `test-final-runtime-${Deno.pid}`;
  const artifacts = join("artifacts", tag), reports = join("reports", tag);
  const cwd = Deno.cwd();
  Deno.chdir(ROOT);
  try {
    const { spec } = await loadPipeline(TINY);
    spec.store = new Store(artifacts);
    const gpu = { ortVersion: ortVersion(), provider: "cuda" as const };
    spec.runtime = () => Promise.resolve(gpu);
    const plans = await planAll(spec);
    const units = Object.fromEntries(plans.map((p) => [p.stage.name, p.units.length]));
    for (const w of planWaves(stages, 2, units)) {
      for (let i = 0; i < w.tasks; i++) {
        const shard = { index: i, count: w.tasks };
        const r = await runPipeline(spec, { ...quiet, only: w.stages, shard });
        assert(r.ok, `wave ${w.index} shard ${i} failed`);
        const dir = join(reports, shardRunName(`R-w${w.index}`, shard));
        await Deno.mkdir(dir, { recursive: true });
        await Deno.writeTextFile(
          join(dir, "run.json"),
          JSON.stringify(runRecord(`R-w${w.index}`, TINY, r, shard)),
        );
      }
    }

    // The final job, as the cluster scripts run it, under the xcompare task's permissions.
    const task: string = JSON.parse(await Deno.readTextFile("deno.json")).tasks.xcompare;
    const xcompare = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: [...task.split(" ").slice(1), "reproduce", "--config", TINY, ...args],
        env: { XCOMPARE_ARTIFACTS: artifacts, XCOMPARE_REPORTS: reports, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
    const dec = (b: Uint8Array) => new TextDecoder().decode(b);
    const final = await xcompare(["--run-id", "R"]);
    assert(final.success, dec(final.stderr).slice(-3000));
    assert(/reusing units that run R's shards computed with cuda/.test(dec(final.stderr)));
    const run = JSON.parse(await Deno.readTextFile(join(reports, "R", "run.json")));
    for (const s of run.summaries as { stage: string; computed: number; reused: number }[]) {
      const want = s.stage === "kpca" || s.stage === "report" ? 1 : 0;
      assertEquals(s.computed, want, `final job computed ${s.computed} of ${s.stage}`);
    }
    const results = JSON.parse(await Deno.readTextFile(join(reports, "R", "results.json")));
    assertEquals(results.input.provenance.execution_provider, "cuda");
    assertEquals(results.input.provenance.config.runtime.providers, ["cpu"]);

    // Another run id has no shards: this CPU's own keys, so every model stage is to compute.
    const other = await xcompare(["--run-id", "other", "--dry-run"]);
    assert(other.success, dec(other.stderr));
    const plan = dec(other.stdout);
    assert(/preprocess: 0 to compute/.test(plan), plan);
    assert(/infer-baselines: [1-9]\d* to compute/.test(plan), plan);
  } finally {
    Deno.chdir(cwd);
    await Deno.remove(join(ROOT, artifacts), { recursive: true }).catch(() => {});
    await Deno.remove(join(ROOT, reports), { recursive: true }).catch(() => {});
  }
});
