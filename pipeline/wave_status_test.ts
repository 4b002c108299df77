import { join } from "node:path";
import { assert, assertEquals } from "../tests/assert.ts";
import { syntheticStages } from "../tests/fixtures/synthetic_stages.ts";
import { planWaves } from "./cluster.ts";
import { buildLock, type LockFile } from "./lockfile.ts";
import { planAll } from "./plan.ts";
import { blockedSelected, type RunOptions, runPipeline, shardOf } from "./runner.ts";
import { Store } from "./store.ts";
import {
  doneUnits,
  formatCause,
  formatMissing,
  missingUnits,
  tasksToRerun,
  wavesBefore,
} from "./wave_status.ts";

const quiet: Partial<RunOptions> = { progress: { live: false, write: () => {} }, log: () => {} };

function spec(root: string) {
  return {
    stages: syntheticStages,
    config: { items: Array.from({ length: 9 }, (_, i) => `item${i}`) },
    stageParams: () => undefined,
    store: new Store(root),
    runtime: () => Promise.resolve({ ortVersion: "test", provider: "cpu" as const }),
  };
}

Deno.test("a killed task's units are missing, named with its wave, task and job; a resume reruns only it", async () => {
  const root = await Deno.makeTempDir({ prefix: "xcompare-waves-" });
  try {
    const s = spec(root);
    const plans = await planAll(s);
    const units = Object.fromEntries(plans.map((p) => [p.stage.name, p.units.length]));
    const waves = planWaves(syntheticStages, 3, units);
    assertEquals(waves.map((w) => [w.stages, w.tasks]), [[["source"], 3], [["square", "side"], 3]]);
    const locks: LockFile[] = [];
    const runTask = async (wave: number, task: number, runId = "r") => {
      const w = waves[wave - 1];
      const r = await runPipeline(s, {
        ...quiet,
        only: w.stages,
        shard: { index: task, count: w.tasks },
      });
      locks.push(buildLock(`${runId}-w${wave}`, "syn.json", "h", r.records));
      return r;
    };
    // Wave 1 with task 1 killed: tasks 0 and 2 wrote lockfiles, task 1 none.
    await runTask(1, 0);
    await runTask(1, 2);
    const run = { runId: "r", configHash: "h", stages: new Set(["source", "square", "side"]) };
    let missing = missingUnits(plans, wavesBefore(waves, 2), await doneUnits(s.store, locks, run));
    const ofTask1 = plans[0].units.filter((u) => shardOf("source", u.id, 3) === 1);
    assert(ofTask1.length > 0, "task 1 of the test split owns no unit");
    assertEquals(missing.map((m) => m.unit).sort(), ofTask1.map((u) => u.id).sort());
    assert(missing.every((m) => m.wave === 1 && m.task === 1 && m.tasks === 3));
    assertEquals(tasksToRerun(missing), new Map([[1, [1]]]));
    const text = formatMissing(missing, { wave1: "100" });
    assert(
      text.startsWith(
        `  wave 1 task 1 of 3 (Slurm job 100_1): ${ofTask1.length} unit(s) missing: source/`,
      ),
      text,
    );

    // The next wave's shards, run regardless, must not pass for done: their blocked units show.
    const w2 = waves[1];
    const owner = shardOf("square", ofTask1[0].id, w2.tasks);
    const r2 = await runTask(2, owner, "scratch");
    const blocked = blockedSelected(r2.records, {
      only: w2.stages,
      shard: { index: owner, count: w2.tasks },
    });
    assert(blocked.some((b) => b.unit === ofTask1[0].id && b.waitingOn === `source/${b.unit}`));

    // Lockfiles of another run, or of the same run id under another config, do not count.
    const all = await runPipeline(s, { ...quiet, only: ["source"] });
    const foreign = [
      buildLock("other-w1", "syn.json", "h", all.records),
      buildLock("r-w1", "syn.json", "another config", all.records),
      buildLock("r-w10x", "syn.json", "h", all.records),
    ];
    missing = missingUnits(
      plans,
      wavesBefore(waves, 2),
      await doneUnits(s.store, [...locks, ...foreign], run),
    );
    assertEquals(missing.length, ofTask1.length);

    // The resubmitted task reuses the store and records its units: nothing is missing.
    await runTask(1, 1);
    missing = missingUnits(plans, wavesBefore(waves, 2), await doneUnits(s.store, locks, run));
    assertEquals(missing, []);

    // A recorded unit whose store entry is gone is missing again, owned by the same task.
    const gone = plans[0].units[0].id;
    const key = locks.flatMap((l) => Object.entries(l.stages.source ?? {}))
      .find(([u]) => u === gone)![1].key;
    await Deno.remove(join(root, "source", key), { recursive: true });
    missing = missingUnits(plans, wavesBefore(waves, 2), await doneUnits(s.store, locks, run));
    assertEquals(missing.map((m) => [m.unit, m.task]), [[gone, shardOf("source", gone, 3)]]);

    // The final job checks every wave. Wave 2 has not run, but for the scratch task above, whose
    // units the resubmitted task's lockfile recorded as reused.
    const final = missingUnits(plans, waves, await doneUnits(s.store, locks, run));
    const scratch = r2.records.filter((r) => r.outcome === "computed").length;
    assertEquals(final.filter((m) => m.wave === 2).length, units.square + units.side - scratch);
    assert(formatMissing(final, {}, 2).endsWith("more task(s)"));
    const cause = formatCause(final).split("\n");
    assertEquals(cause[0].slice(0, 44), "The earliest incomplete wave is wave 1; thes");
    assert(cause[1].startsWith(`  wave 1 task ${shardOf("source", gone, 3)} of 3: 1 unit(s)`));
    assertEquals(
      cause.at(-1),
      `and ${final.length - 1} unit(s) of the later wave(s) 2 are missing too.`,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
