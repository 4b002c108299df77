import { join } from "node:path";
import { assertEquals } from "../tests/assert.ts";
import { buildLock, LOCK_NAME, readLocks, scanLocks } from "./lockfile.ts";

Deno.test("scanLocks reads every run's lockfile and lists those it cannot read", async () => {
  const reports = await Deno.makeTempDir();
  const good = buildLock("r1", "c.json", "h", [
    { stage: "s", unit: "u", outcome: "computed", key: "k", outputHash: "o" },
  ]);
  for (const [run, text] of [["r1", JSON.stringify(good)], ["r2", '{"stages": {'], ["r3", "[]"]]) {
    await Deno.mkdir(join(reports, run));
    await Deno.writeTextFile(join(reports, run, LOCK_NAME), text);
  }
  await Deno.mkdir(join(reports, "not-a-run"));
  // Copies of latest left by a cut-short refresh hold a lockfile but are not runs.
  for (const leftover of ["latest.123.ab12cd34.tmp", "latest.123.ab12cd34.0.old"]) {
    await Deno.mkdir(join(reports, leftover));
    await Deno.writeTextFile(join(reports, leftover, LOCK_NAME), JSON.stringify(good));
  }
  const { locks, unreadable } = await scanLocks(reports);
  assertEquals(locks, [good]);
  assertEquals(unreadable.map((u) => u.path).sort(), [
    join(reports, "r2", LOCK_NAME),
    join(reports, "r3", LOCK_NAME),
  ]);
  assertEquals(await readLocks(reports), [good]);
  assertEquals(await scanLocks(join(reports, "absent")), { locks: [], runs: [], unreadable: [] });
});

Deno.test("buildLock lists stages in run order and their units by id, however they finished", () => {
  const rec = (stage: string, unit: string) => ({
    stage,
    unit,
    outcome: "computed" as const,
    key: `k-${unit}`,
    outputHash: `o-${unit}`,
  });
  const a = buildLock("r", "c", "h", [rec("s", "b"), rec("s", "a"), rec("t", "all")]);
  const b = buildLock("r", "c", "h", [rec("s", "a"), rec("s", "b"), rec("t", "all")]);
  assertEquals(JSON.stringify(a.stages), JSON.stringify(b.stages));
  assertEquals(Object.keys(a.stages), ["s", "t"]);
  assertEquals(Object.keys(a.stages.s), ["a", "b"]);
});
