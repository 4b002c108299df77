import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../tests/assert.ts";
import type { Holder } from "./lock_holder.ts";
import { RunLock, type RunLockOptions } from "./runlock.ts";

function fast(logs: string[] = []): Partial<RunLockOptions> {
  return { pollMs: 20, heartbeatMs: 50, staleMs: 500, log: (l) => logs.push(l) };
}

function holder(over: Partial<Holder>, ageMs = 0): Holder {
  const at = new Date(Date.now() - ageMs).toISOString();
  return {
    host: Deno.hostname(),
    pid: Deno.pid,
    command: "xcompare reproduce",
    startedAt: at,
    heartbeatAt: at,
    token: "theirs",
    ...over,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const exists = (path: string) => Deno.stat(path).then(() => true, () => false);
const read = async (path: string): Promise<Holder> => JSON.parse(await Deno.readTextFile(path));

Deno.test("a lock whose heartbeat is old is taken over even though its pid is alive", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "run.lock");
  await Deno.writeTextFile(path, JSON.stringify(holder({}, 10_000)));
  const logs: string[] = [];
  const lock = await RunLock.acquire(dir, "run", { ...fast(logs), wait: false });
  assertEquals((await read(path)).token, lock.holder.token);
  assert(
    logs.some((l) =>
      l.includes(`taking over from pid ${Deno.pid} on ${Deno.hostname()}`) &&
      l.includes("no heartbeat for more than 0.5 s")
    ),
    logs.join("\n"),
  );
  await lock.release();
  assert(!await exists(path), "released lock file left behind");
});

Deno.test("a fresh lock is never taken over, whatever its pid or host; --no-wait names the holder", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "run.lock");
  await Deno.writeTextFile(path, JSON.stringify(holder({ pid: 2147483646, host: "node-17" })));
  const e = await assertRejects(
    () => RunLock.acquire(dir, "run", { ...fast(), wait: false }),
    /another xcompare run holds the store \(pid 2147483646 on node-17 \(xcompare reproduce\)/,
  );
  assert(e.message.includes("rerun without --no-wait to wait for it"), e.message);
  assert(!/--wait\b/.test(e.message.replace("--no-wait", "")), "suggests a flag that exists");
  assertEquals((await read(path)).token, "theirs");
});

Deno.test("a stale lock of another host is taken over", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    join(dir, "run.lock"),
    JSON.stringify(holder({ pid: 4242, host: "node-17" }, 600_000)),
  );
  const logs: string[] = [];
  const lock = await RunLock.acquire(dir, "run", fast(logs));
  assert(logs.some((l) => /taking over from pid 4242 on node-17/.test(l)), logs.join("\n"));
  await lock.release();
});

Deno.test("the heartbeat keeps a held lock fresh; a waiter gets it only once it is released", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "run.lock");
  const first = await RunLock.acquire(dir, "run", fast());
  const logs: string[] = [];
  let second: RunLock | undefined;
  const waiting = RunLock.acquire(dir, "run", fast(logs)).then((l) => second = l);
  await sleep(1200); // more than twice the stale timeout
  assertEquals(second, undefined, "the waiter took over a live lock");
  const seen = await read(path);
  assertEquals(seen.token, first.holder.token);
  assert(Date.now() - Date.parse(seen.heartbeatAt) < 500, `heartbeat ${seen.heartbeatAt}`);
  assert(logs.some((l) => /waiting for it to finish/.test(l)), logs.join("\n"));
  await first.release();
  await waiting;
  assertEquals((await read(path)).token, second!.holder.token);
  await second!.release();
});

Deno.test("release removes only our own lock", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "run.lock");
  const logs: string[] = [];
  const lock = await RunLock.acquire(dir, "run", fast(logs));
  await Deno.writeTextFile(path, JSON.stringify(holder({ token: "newer" })));
  await sleep(200);
  await lock.release();
  assertEquals((await read(path)).token, "newer");
  assert(logs.some((l) => /no longer ours/.test(l)), logs.join("\n"));
});

Deno.test("an unreadable lock file is held until its mtime is older than the timeout", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "run.lock");
  await Deno.writeTextFile(path, '{"host": "node-');
  await assertRejects(
    () => RunLock.acquire(dir, "run", { ...fast(), wait: false }),
    /holds the store \(an unreadable lock file .*run\.lock, last written 0 s ago\)/,
  );
  const old = new Date(Date.now() - 10_000);
  await Deno.utime(path, old, old);
  const logs: string[] = [];
  const lock = await RunLock.acquire(dir, "run", { ...fast(logs), wait: false });
  assert(logs.some((l) => /taking over from an unreadable lock file/.test(l)), logs.join("\n"));
  await lock.release();
});

Deno.test("gc's store lock waits for every run's lock, and no run starts while gc holds it", async () => {
  const dir = await Deno.makeTempDir();
  const shard = await RunLock.acquire(dir, "run-shard-0-of-2", fast());
  await assertRejects(
    () => RunLock.acquireStore(dir, { ...fast(), wait: false }),
    new RegExp(`another xcompare run holds the store \\(pid ${Deno.pid} .*run-shard-0-of-2\\.lock`),
  );
  assert(!await exists(join(dir, "gc.lock")), "gc left its lock behind when it gave up");
  let gc: RunLock | undefined;
  const waiting = RunLock.acquireStore(dir, fast()).then((l) => gc = l);
  await sleep(300);
  assertEquals(gc, undefined, "gc did not wait for the run");
  await shard.release();
  await waiting;
  await assertRejects(
    () => RunLock.acquire(dir, "run", { ...fast(), wait: false }),
    /xcompare gc holds the store/,
  );
  assert(!await exists(join(dir, "run.lock")), "the run kept its lock while gc held the store");
  let run: RunLock | undefined;
  const next = RunLock.acquire(dir, "run", fast()).then((l) => run = l);
  await sleep(200);
  assertEquals(run, undefined, "a run started while gc held the store");
  await gc!.release();
  await next;
  await run!.release();
});

Deno.test("the stale timeout must leave room for missed heartbeats", async () => {
  const dir = await Deno.makeTempDir();
  await assertRejects(
    () => RunLock.acquire(dir, "run", { heartbeatMs: 5000, staleMs: 6000 }),
    /staleMs \(6000\) must exceed twice heartbeatMs \(5000\)/,
  );
});

Deno.test("a lock of this host whose process is gone is taken over after two missed beats, not the stale timeout", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "run.lock");
  const gone = 4_000_001;
  const alive = (pid: number) => pid !== gone;
  const o = { ...fast(), staleMs: 60_000, pidAlive: alive, wait: false };
  // Its heartbeat is not yet two beats (100 ms) old: it may be alive in another pid namespace.
  await Deno.writeTextFile(path, JSON.stringify(holder({ pid: gone }, 0)));
  await assertRejects(
    () => RunLock.acquire(dir, "run", o),
    /another xcompare run holds.*its process is gone, so the lock is taken over once its heartbeat is 0\.1 s old: rerun in a few seconds/s,
  );
  // Alive, or of another host: only the stale timeout takes it over.
  for (const over of [{}, { pid: gone, host: "node-17" }]) {
    await Deno.writeTextFile(path, JSON.stringify(holder(over, 5_000)));
    await assertRejects(() => RunLock.acquire(dir, "run", o), /another xcompare run holds/);
  }
  // Cannot tell (no FFI): the same.
  await Deno.writeTextFile(path, JSON.stringify(holder({ pid: gone }, 5_000)));
  await assertRejects(
    () => RunLock.acquire(dir, "run", { ...o, pidAlive: () => undefined }),
    /another xcompare run holds/,
  );
  const logs: string[] = [];
  const lock = await RunLock.acquire(dir, "run", { ...o, log: (l) => logs.push(l) });
  assertEquals((await read(path)).token, lock.holder.token);
  assert(
    logs.some((l) =>
      l.includes(`taking over from pid ${gone} on ${Deno.hostname()}`) &&
      /its process 4000001 is no longer running on this host and its heartbeat is 5(\.\d)? s old \(over 0\.1 s\)/
        .test(l)
    ),
    logs.join("\n"),
  );
  await lock.release();
});

Deno.test("a held lock that another run takes over says so once, and calls onLost", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "run.lock");
  const logs: string[] = [];
  let lostCalls = 0;
  const lock = await RunLock.acquire(dir, "run", {
    ...fast(logs),
    wait: false,
    onLost: () => lostCalls++,
  });
  assertEquals(lock.lost, false);
  // What a run that found this one's heartbeat stale (suspended, cut off) writes.
  await Deno.writeTextFile(path, JSON.stringify(holder({ token: "the-other-run" })));
  for (let i = 0; i < 50 && !lock.lost; i++) await sleep(20);
  await sleep(150); // more beats: still reported once
  assertEquals([lock.lost, lostCalls], [true, 1]);
  assertEquals(logs.filter((l) => l.includes("no longer ours")).length, 1, logs.join("\n"));
  await lock.release();
  assertEquals((await read(path)).token, "the-other-run", "release left the other run's lock");
});
