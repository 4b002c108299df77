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
  const { locks, unreadable } = await scanLocks(reports);
  assertEquals(locks, [good]);
  assertEquals(unreadable.map((u) => u.path).sort(), [
    join(reports, "r2", LOCK_NAME),
    join(reports, "r3", LOCK_NAME),
  ]);
  assertEquals(await readLocks(reports), [good]);
  assertEquals(await scanLocks(join(reports, "absent")), { locks: [], runs: [], unreadable: [] });
});
