/**
 * The store lock end to end, in child processes under the `xcompare` task's permissions (which
 * refuse a look at /proc, so a lock judged by pid would look dead): two runs on one store, gc
 * during a run, `--no-wait`, an unreadable lockfile, and SIGTERM or SIGINT during a run.
 */
import { taskFlags } from "./task_flags.ts";
import { tinyConfig } from "./checkout_copy.ts";
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { RunLock } from "../pipeline/runlock.ts";
import { Store } from "../pipeline/store.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const model = "zoo/models/cnn-bn.onnx";
const modelPresent = await Deno.stat(join(ROOT, model)).then(() => true, () => false);

/** The synthetic DAG (tests/fixtures/synthetic_run.ts) on `<dir>/artifacts`. */
function synthetic(dir: string, n: number, delayMs = 0, reports?: string) {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...taskFlags(dir),
      "tests/fixtures/synthetic_run.ts",
      join(dir, "artifacts"),
      String(n),
      "1",
      ...(reports ? [reports] : []),
    ],
    cwd: ROOT,
    env: { SYN_DELAY_MS: String(delayMs) },
    stdout: "piped",
    stderr: "piped",
  });
}

function cli(dir: string, args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...taskFlags(dir), "cli/main.ts", ...args],
    cwd: ROOT,
    env: {
      XCOMPARE_ARTIFACTS: join(dir, "artifacts"),
      XCOMPARE_REPORTS: join(dir, "reports"),
      NO_COLOR: "1",
    },
    stdout: "piped",
    stderr: "piped",
  });
}

const text = (o: Deno.CommandOutput) =>
  new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr);

/** Units computed in a synthetic run, from its summary line. */
const computedBy = (o: Deno.CommandOutput) =>
  (JSON.parse(new TextDecoder().decode(o.stdout)) as [string, number, number][])
    .reduce((n, [, computed]) => n + computed, 0);

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

/** Store entries (not temporary or quarantined directories), each checked byte for byte. */
async function entries(artifacts: string) {
  const store = new Store(artifacts);
  const out: { name: string; ok: boolean }[] = [];
  for await (const e of store.entries()) {
    if (e.key.startsWith(".")) continue;
    out.push({ name: `${e.stage}/${e.key}`, ok: (await store.check(e.stage, e.key, true)).ok });
  }
  return out;
}

async function until(what: string, cond: () => Promise<boolean>, ms = 60_000) {
  for (const t0 = Date.now(); !(await cond());) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const committed = (artifacts: string) => async () => (await entries(artifacts)).length > 0;

Deno.test("two runs on one store: the second waits for the first, then reuses every unit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-lock-" });
  try {
    const [a, b] = await Promise.all([
      synthetic(dir, 4, 200).output(),
      synthetic(dir, 4, 200).output(),
    ]);
    assert(a.success && b.success, text(a) + text(b));
    assertEquals([computedBy(a), computedBy(b)].sort(), [0, 10], text(a) + text(b));
    assert(/waiting for it to finish/.test(text(a) + text(b)), "the second run did not wait");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--no-wait exits non-zero naming the holder; gc waits for it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-lock-" });
  const held = await RunLock.acquire(join(dir, "artifacts"), "run", { releaseOnSignal: false });
  try {
    const holder = `pid ${Deno.pid} on ${Deno.hostname()}`;
    for (const args of [["reproduce", "--no-wait"], ["gc", "--no-wait"]]) {
      const o = await cli(dir, args).output();
      assertEquals(o.code, 1, text(o));
      assert(text(o).includes(`another xcompare run holds the store (${holder}`), text(o));
      assert(text(o).includes("rerun without --no-wait to wait for it"), text(o));
    }
    // Release only once gc says it waits: a fixed delay raced gc's start-up on a loaded machine.
    const gc = cli(dir, ["gc"]).spawn();
    const giveUp = setTimeout(() => held.release(), 60_000); // gc never said it waits: fail, not hang
    const stdout = gc.stdout.text();
    let stderr = "";
    const decoder = new TextDecoder();
    for await (const chunk of gc.stderr) {
      stderr += decoder.decode(chunk, { stream: true });
      if (/waiting for it to finish/.test(stderr)) {
        await held.release();
      }
    }
    const status = await gc.status;
    clearTimeout(giveUp);
    assertEquals(status.code, 0, (await stdout) + stderr);
    assert(/waiting for it to finish/.test(stderr), (await stdout) + stderr);
  } finally {
    await held.release();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gc during a run waits for it: the run loses nothing, gc keeps what its lockfile names", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-lock-" });
  const artifacts = join(dir, "artifacts");
  try {
    const run = synthetic(dir, 8, 300, join(dir, "reports")).spawn();
    await until("a committed unit", committed(artifacts));
    const gc = await cli(dir, ["gc"]).output();
    const r = await run.output();
    assert(r.success, text(r));
    assertEquals(computedBy(r), 18, "8 source + 8 square + total + side, none failed");
    assertEquals(gc.code, 0, text(gc));
    assert(/waiting for it to finish/.test(text(gc)), text(gc));
    assert(/removed 0 store entries .* kept 18 referenced by 1 lockfiles/.test(text(gc)), text(gc));
    const again = await synthetic(dir, 8).output();
    assertEquals(computedBy(again), 0, "a rerun reuses every unit");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gc refuses, naming it, when a lockfile cannot be read; --force collects", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-lock-" });
  try {
    assert((await synthetic(dir, 2, 0, join(dir, "reports")).output()).success);
    const orphan = join(dir, "artifacts", "source", "0".repeat(64));
    await Deno.mkdir(orphan);
    await Deno.writeTextFile(join(orphan, "value.json"), "{}");
    const broken = join(dir, "reports", "broken", "xcompare.lock.json");
    await Deno.mkdir(join(dir, "reports", "broken"));
    await Deno.writeTextFile(broken, '{"runId": "broken", "stages": {"source": {"item0');
    const refused = await cli(dir, ["gc"]).output();
    assertEquals(refused.code, 1, text(refused));
    assert(text(refused).includes(`nothing was removed:\n  ${broken}: `), text(refused));
    assert(await exists(orphan));
    const forced = await cli(dir, ["gc", "--force"]).output();
    assertEquals(forced.code, 0, text(forced));
    assert(
      /removed 1 store entries .* kept 6 referenced by 1 lockfiles/.test(text(forced)),
      text(forced),
    );
    assert(text(forced).includes(`ignoring unreadable lockfiles:\n  ${broken}`), text(forced));
    assert(!await exists(orphan));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("after kill -9 the next run takes the lock over once the dead process's heartbeat is two beats old", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-lock-" });
  const artifacts = join(dir, "artifacts");
  try {
    const run = synthetic(dir, 8, 300).spawn();
    await until("a committed unit", committed(artifacts));
    run.kill("SIGKILL");
    await run.output();
    assert(await exists(join(artifacts, "run.lock")), "SIGKILL leaves the lock file");
    const r = await synthetic(dir, 8).output();
    assertEquals(r.code, 0, text(r));
    // The fixture's heartbeat is 200 ms and its stale timeout 2 s: the pid, asked under the task's
    // flags, decides after 0.4 s instead.
    assert(
      new RegExp(
        `taking over from pid ${run.pid} on .*: its process ${run.pid} is no longer running on ` +
          `this host and its heartbeat is [\\d.]+ s old \\(over 0\\.4 s\\)`,
      ).test(text(r)),
      text(r),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGINT during a run releases the lock and leaves only complete units", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-lock-" });
  const artifacts = join(dir, "artifacts");
  try {
    const run = synthetic(dir, 8, 300).spawn();
    await until("a committed unit", committed(artifacts));
    run.kill("SIGINT");
    const r = await run.output();
    assertEquals(r.code, 130, text(r));
    assert(/SIGINT: releasing the store lock/.test(text(r)), text(r));
    assert(!await exists(join(artifacts, "run.lock")), "the lock file is left behind");
    const units = await entries(artifacts);
    assert(units.length > 0 && units.length < 18, `${units.length} units`);
    assert(units.every((u) => u.ok), JSON.stringify(units));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "SIGTERM during `reproduce` releases the lock and leaves only complete units",
  ignore: !modelPresent,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "xcompare-lock-" });
    const artifacts = join(dir, "artifacts");
    try {
      const config = join(dir, "tiny.json");
      const tiny = tinyConfig("fashion-sample");
      await Deno.writeTextFile(
        config,
        // The shared tiny config on the first 4 shipped sample images.
        JSON.stringify({
          ...tiny,
          name: "sigterm",
          dataset: { ...tiny.dataset, dir: "data/fashion-sample", first: 4 },
        }),
      );
      const run = cli(dir, ["reproduce", "--config", config]).spawn();
      await until("a committed unit", committed(artifacts));
      run.kill("SIGTERM");
      const r = await run.output();
      assertEquals(r.code, 143, text(r));
      assert(/SIGTERM: releasing the store lock/.test(text(r)), text(r));
      assert(!await exists(join(artifacts, "run.lock")), "the lock file is left behind");
      const units = await entries(artifacts);
      assert(units.length > 0, "no unit committed");
      assert(units.every((u) => u.ok), JSON.stringify(units));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
