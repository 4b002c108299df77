/**
 * Graceful stop (pipeline/shutdown.ts), in child processes under the `xcompare` task's
 * permissions: SIGTERM (what Slurm's --signal=B:TERM@120 and a Kubernetes eviction send) lets the
 * unit in flight finish and commit, starts no other, releases the lock and exits 143; a second
 * signal abandons the unit in flight, leaving only its temporary directory.
 */
import { taskFlags } from "./task_flags.ts";
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { Store } from "../pipeline/store.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const UNIT_MS = 2000;

function synthetic(dir: string) {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...taskFlags(dir),
      "tests/fixtures/synthetic_run.ts",
      join(dir, "artifacts"),
      "8",
      "1",
    ],
    cwd: ROOT,
    env: { SYN_DELAY_MS: String(UNIT_MS) },
    stdout: "piped",
    stderr: "piped",
  });
}

/** Complete store entries of the first stage, and its temporary (abandoned) directories. */
async function sourceDir(artifacts: string) {
  const names = await Array.fromAsync(Deno.readDir(join(artifacts, "source")))
    .then((es) => es.map((e) => e.name), () => [] as string[]);
  const store = new Store(artifacts);
  const complete = [];
  for (const n of names.filter((n) => !n.startsWith("."))) {
    if ((await store.check("source", n, true)).ok) complete.push(n);
  }
  return { complete: complete.length, tmp: names.filter((n) => n.startsWith(".tmp-")).length };
}

async function untilCommitted(artifacts: string, n: number) {
  for (const t0 = Date.now(); (await sourceDir(artifacts)).complete < n;) {
    if (Date.now() - t0 > 60_000) throw new Error(`no ${n} committed unit(s) within 60 s`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const text = (o: Deno.CommandOutput) =>
  new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr);
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("SIGTERM: the unit in flight finishes and commits, no other starts, lock released, 143", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-stop-" });
  const artifacts = join(dir, "artifacts");
  try {
    const run = synthetic(dir).spawn();
    await untilCommitted(artifacts, 1);
    await sleep(UNIT_MS / 5); // the second unit is now in flight
    run.kill("SIGTERM");
    const r = await run.output();
    assertEquals(r.code, 143, text(r));
    assert(
      /SIGTERM: starting no new unit; waiting up to 90 s for the 1 in flight/.test(text(r)),
      text(r),
    );
    assert(/SIGTERM: releasing the store lock/.test(text(r)), text(r));
    assertEquals(await sourceDir(artifacts), { complete: 2, tmp: 0 }, "in-flight unit not kept");
    assert(!await exists(join(artifacts, "run.lock")), "the lock file is left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a second SIGTERM abandons the unit in flight: only complete units stay", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-stop-" });
  const artifacts = join(dir, "artifacts");
  try {
    const run = synthetic(dir).spawn();
    await untilCommitted(artifacts, 1);
    await sleep(UNIT_MS / 5);
    const t0 = Date.now();
    run.kill("SIGTERM");
    await sleep(200);
    run.kill("SIGTERM");
    const r = await run.output();
    assertEquals(r.code, 143, text(r));
    assert(/SIGTERM again: abandoning the units in flight/.test(text(r)), text(r));
    assert(Date.now() - t0 < UNIT_MS, `took ${Date.now() - t0} ms: the unit was waited for`);
    // The abandoned unit left its temporary directory (gc removes it), never a store entry.
    assertEquals(await sourceDir(artifacts), { complete: 1, tmp: 1 });
    assert(!await exists(join(artifacts, "run.lock")), "the lock file is left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
