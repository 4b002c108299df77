import { join } from "node:path";
import { assertEquals } from "../tests/assert.ts";
import { isUpToDate, type RenderKey, renderKeyOf, RUN_RECORD } from "./run_record.ts";
import { buildLock, LOCK_NAME } from "../pipeline/lockfile.ts";
import type { RunResult, UnitRecord } from "../pipeline/runner.ts";

const records: UnitRecord[] = [
  { stage: "preprocess", unit: "c0", outcome: "reused", key: "k1", outputHash: "o1" },
  { stage: "report", unit: "all", outcome: "reused", key: "k2", outputHash: "o2" },
];
const result: RunResult = { records, summaries: [], ok: true };

/** A run folder as reproduce leaves it: lockfile, run.json with the render key, the report. */
async function folder(render: RenderKey, lockRecords = records, files = ["report.md"]) {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    join(dir, LOCK_NAME),
    JSON.stringify(buildLock("r", "c.json", "h", lockRecords)),
  );
  await Deno.writeTextFile(join(dir, RUN_RECORD), JSON.stringify({ runId: "r", render }));
  for (const f of [...files, "report.html", "results.json"]) {
    await Deno.writeTextFile(join(dir, f), "");
  }
  return dir;
}

Deno.test("a folder is up to date only with the same units, render key and report files", async () => {
  const render = (await renderKeyOf(result, "r"))!;
  assertEquals(render.reportOutput, "o2");
  const lock = buildLock("r", "c.json", "h", records);
  assertEquals(await isUpToDate(await folder(render), lock, render), true);
  assertEquals(await isUpToDate(await Deno.makeTempDir(), lock, render), false, "empty folder");
  const otherRenderer = { ...render, key: "other" };
  assertEquals(await isUpToDate(await folder(otherRenderer), lock, render), false, "renderer");
  const otherUnits = [records[0], { ...records[1], outputHash: "o3" }];
  assertEquals(await isUpToDate(await folder(render, otherUnits), lock, render), false, "units");
  assertEquals(await isUpToDate(await folder(render, records, []), lock, render), false, "no md");
  // The id is part of the key: the same output rendered under another id is another report.
  assertEquals((await renderKeyOf(result, "r2"))!.key === render.key, false);
  assertEquals(await renderKeyOf({ ...result, records: [records[0]] }, "r"), null);
});
