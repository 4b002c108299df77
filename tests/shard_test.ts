/**
 * Sharded runs: the cluster waves (pipeline/cluster.ts) split every unit of a real config's plan
 * exactly once across shards, a final plain run then only reuses; and a shard killed with
 * SIGKILL mid-stage completes when rerun, with the same end result as an uninterrupted run.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { planAll } from "../pipeline/plan.ts";
import { runPipeline, type UnitRecord } from "../pipeline/runner.ts";
import { Store } from "../pipeline/store.ts";
import { planWaves } from "../pipeline/cluster.ts";
import { stages } from "../stages/index.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const TINY = "tests/slurm/tiny.json";

const quiet = { progress: { live: false, write: () => {} }, log: () => {} };

Deno.test({
  name: "waves of 3 shards compute each unit of tiny.json exactly once; the final run reuses all",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "xcompare-shard-" });
    const cwd = Deno.cwd();
    Deno.chdir(ROOT);
    try {
      const { loadPipeline } = await import("../cli/app.ts");
      const { spec } = await loadPipeline(TINY);
      spec.store = new Store(dir);
      const plans = await planAll(spec);
      const units = Object.fromEntries(plans.map((p) => [p.stage.name, p.units.length]));
      const waves = planWaves(stages, 3, units);
      // Per-image stages have 3-4 units, so their waves really split.
      assert(waves.some((w) => w.tasks === 3), JSON.stringify(waves));
      const computed: UnitRecord[] = [];
      for (const w of waves) {
        for (let i = 0; i < w.tasks; i++) {
          const r = await runPipeline(spec, {
            ...quiet,
            only: w.stages,
            shard: { index: i, count: w.tasks },
          });
          assert(r.ok, `wave ${w.index} shard ${i} failed`);
          computed.push(...r.records.filter((x) => x.outcome === "computed"));
        }
      }
      const final = await runPipeline(spec, quiet);
      assert(final.ok);
      const finalComputed = final.records.filter((x) => x.outcome === "computed");
      const all = [...computed, ...finalComputed].map((r) => `${r.stage}/${r.unit}`);
      assertEquals(all.length, new Set(all).size, "a unit was computed twice");
      const planned = plans.flatMap((p) => p.units.map((u) => `${p.stage.name}/${u.id}`));
      assertEquals([...all].sort(), [...planned].sort(), "units missing or extra");
      // The waves did everything but the trailing single-unit stages.
      const waveStages = new Set(waves.flatMap((w) => w.stages));
      for (const r of finalComputed) assert(!waveStages.has(r.stage), `final computed ${r.stage}`);
      assertEquals(finalComputed.map((r) => r.stage).sort(), ["kpca", "report"]);
    } finally {
      Deno.chdir(cwd);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

function shardRun(root: string, n: number, shard?: string, env: Record<string, string> = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "tests/slurm/synthetic_shard_run.ts",
      root,
      String(n),
      ...(shard ? [shard] : []),
    ],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  });
}

async function check(cmd: Deno.Command): Promise<[string, number, number][]> {
  const r = await cmd.output();
  assert(r.success, new TextDecoder().decode(r.stderr));
  return JSON.parse(new TextDecoder().decode(r.stdout));
}

Deno.test("a shard killed with SIGKILL mid-stage completes on rerun; shards + final = one run", async () => {
  const n = 9;
  const clean = await Deno.makeTempDir({ prefix: "xcompare-shard-clean-" });
  const killed = await Deno.makeTempDir({ prefix: "xcompare-shard-killed-" });
  try {
    await check(shardRun(clean, n));
    const child = shardRun(killed, n, "1/3", { SYN_DELAY_MS: "200" }).spawn();
    let seen = 0;
    for (let i = 0; i < 200 && seen < 1; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const es = await Array.fromAsync(Deno.readDir(join(killed, "source"))).catch(() => []);
      seen = es.filter((e) => !e.name.startsWith(".")).length;
    }
    child.kill("SIGKILL");
    const st = await child.status;
    assert(!st.success, "the shard finished before it could be killed");
    assert(seen >= 1, "no unit committed before the kill");
    // Rerun of the killed shard: reuses what it committed, computes the rest of its units.
    const rerun = await check(shardRun(killed, n, "1/3"));
    const src = rerun.find(([s]) => s === "source")!;
    assert(src[2] >= 1, `rerun reused nothing: ${JSON.stringify(rerun)}`);
    await check(shardRun(killed, n, "0/3"));
    await check(shardRun(killed, n, "2/3"));
    const final = await check(shardRun(killed, n));
    // Every source unit came from a shard.
    assertEquals(final.find(([s]) => s === "source"), ["source", 0, n]);
    const total = async (root: string) => {
      const dirs = await Array.fromAsync(Deno.readDir(join(root, "total")));
      const d = dirs.find((e) => !e.name.startsWith("."))!;
      return await Deno.readTextFile(join(root, "total", d.name, "total.txt"));
    };
    assertEquals(await total(killed), await total(clean));
  } finally {
    await Deno.remove(clean, { recursive: true });
    await Deno.remove(killed, { recursive: true });
  }
});
