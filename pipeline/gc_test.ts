import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../tests/assert.ts";
import { syntheticStages } from "../tests/fixtures/synthetic_stages.ts";
import { gcStore, runsToPrune } from "./gc.ts";
import { buildLock, LOCK_NAME, type LockFile, type RunFolder } from "./lockfile.ts";
import { runPipeline } from "./runner.ts";
import { RunLock } from "./runlock.ts";
import { Store } from "./store.ts";

const quiet = { progress: { live: false, write: () => {} }, log: () => {} };
const fastLock = { pollMs: 20, heartbeatMs: 50, staleMs: 500 };

/** A store with two runs of the synthetic DAG (square's param differs) and run 1's lockfile. */
async function twoRuns() {
  const root = await Deno.makeTempDir();
  const store = new Store(join(root, "artifacts"));
  const run = (scale: number) =>
    runPipeline({
      stages: syntheticStages,
      config: { items: ["a", "b"] },
      stageParams: (s: string) => s === "square" ? { scale } : undefined,
      store,
      runtime: () => Promise.resolve({ ortVersion: "test", provider: "cpu" }),
    }, quiet);
  const first = await run(1);
  await run(5);
  const reports = join(root, "reports");
  await Deno.mkdir(join(reports, "r1"), { recursive: true });
  await Deno.writeTextFile(
    join(reports, "r1", LOCK_NAME),
    JSON.stringify(buildLock("r1", "syn", "h", first.records)),
  );
  return { store, reports };
}

const count = async (store: Store) => (await Array.fromAsync(store.entries())).length;

Deno.test("an unreadable lockfile makes gc refuse and name it; force collects without it", async () => {
  const { store, reports } = await twoRuns();
  await Deno.mkdir(join(reports, "r2"));
  const truncated = join(reports, "r2", LOCK_NAME);
  await Deno.writeTextFile(truncated, '{"runId": "r2", "stages": {"square": {"a": {"ke');
  const before = await count(store);
  await assertRejects(
    () => gcStore(store, reports, { lock: fastLock, log: () => {} }),
    new RegExp(`cannot read 1 lockfile.*nothing was removed:\\n  ${truncated}: .*--force`, "s"),
  );
  assertEquals(await count(store), before);
  const logs: string[] = [];
  const r = await gcStore(store, reports, {
    force: true,
    lock: fastLock,
    log: (l) => logs.push(l),
  });
  assertEquals(r.removed.length, 3, "2 square units + 1 total of the second run");
  assertEquals(r.lockfiles, 1);
  assert(logs.some((l) => l.includes(`ignoring unreadable lockfiles:\n  ${truncated}`)), `${logs}`);
});

Deno.test("gc waits while a run holds the store, then keeps what lockfiles name", async () => {
  const { store, reports } = await twoRuns();
  const before = await count(store);
  const run = await RunLock.acquire(store.root, "run", fastLock);
  await assertRejects(
    () => gcStore(store, reports, { wait: false, lock: fastLock, log: () => {} }),
    /another xcompare run holds the store \(pid/,
  );
  let done = false;
  const gc = gcStore(store, reports, { lock: fastLock, log: () => {} }).then((r) => {
    done = true;
    return r;
  });
  await new Promise((r) => setTimeout(r, 300));
  assertEquals(done, false, "gc did not wait for the run");
  assertEquals(await count(store), before, "gc removed entries while a run held the store");
  await run.release();
  assertEquals((await gc).removed.length, 3);
});

/** A run folder as scanLocks lists it, created at minute `t`. */
const folder = (name: string, t: number, runId = name): RunFolder => ({
  dir: `reports/${name}`,
  name,
  lock: {
    runId,
    config: "c.json",
    configHash: "h",
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, t)).toISOString(),
    stages: {},
  } satisfies LockFile,
});

Deno.test("gc --reports keeps the newest runs, the one latest copies and pending shard runs", () => {
  const runs = [
    folder("a", 1),
    folder("b", 2),
    folder("c", 3),
    folder("d", 4),
    folder("latest", 4, "b"),
    // A sharded run whose final run exists, and one whose final job has not run yet.
    folder("c-shard-0-of-2", 2),
    folder("c-shard-1-of-2", 2),
    folder("e-shard-0-of-2", 5),
  ];
  const pruned = (keep: number) => runsToPrune(runs, keep).map((r) => r.name).sort();
  assertEquals(pruned(2), ["a", "c-shard-0-of-2", "c-shard-1-of-2"], "b stays: latest copies it");
  assertEquals(pruned(0), ["a", "c", "c-shard-0-of-2", "c-shard-1-of-2", "d"]);
  assertEquals(
    pruned(10),
    ["c-shard-0-of-2", "c-shard-1-of-2"],
    "redundant beside their final run",
  );
});

Deno.test("gc --reports removes old run folders, then the entries only they named", async () => {
  const { store, reports } = await twoRuns();
  const second = await runPipeline({
    stages: syntheticStages,
    config: { items: ["a", "b"] },
    stageParams: (s: string) => s === "square" ? { scale: 5 } : undefined,
    store,
    runtime: () => Promise.resolve({ ortVersion: "test", provider: "cpu" }),
  }, quiet);
  await Deno.mkdir(join(reports, "r2"));
  const lock = buildLock("r2", "syn", "h", second.records);
  await Deno.writeTextFile(join(reports, "r2", LOCK_NAME), JSON.stringify(lock));
  await Deno.mkdir(join(reports, "expected"));
  await Deno.writeTextFile(join(reports, "expected", "default.json"), "{}");
  const before = await count(store);
  const dry = await gcStore(store, reports, { keepRuns: 1, dryRun: true, lock: fastLock });
  assertEquals(dry.prunedRuns, [join(reports, "r1")]);
  assertEquals(dry.removed.length, 3, "what only r1 named: its 2 square units and its total");
  assertEquals(await count(store), before, "a dry run removes nothing");
  await Deno.stat(join(reports, "r1"));
  const r = await gcStore(store, reports, { keepRuns: 1, lock: fastLock });
  assertEquals(r.prunedRuns, [join(reports, "r1")]);
  assertEquals(r.lockfiles, 1);
  assertEquals(await count(store), before - 3);
  await assertRejects(() => Deno.stat(join(reports, "r1")), /No such file/);
  await Deno.stat(join(reports, "r2", LOCK_NAME));
  await Deno.stat(join(reports, "expected", "default.json"));
});
