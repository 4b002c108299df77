import { join } from "node:path";
import { assertEquals } from "../tests/assert.ts";
import { shardRunName } from "../pipeline/cluster.ts";
import {
  folderState,
  hashFiles,
  isUpToDate,
  type RenderKey,
  renderKeyOf,
  RUN_RECORD,
  shardRuntimes,
} from "./run_record.ts";
import { buildLock, LOCK_NAME } from "../pipeline/lockfile.ts";
import type { RunResult, UnitRecord } from "../pipeline/runner.ts";
Deno.test("a final job finds the runtimes its own shards recorded, most shards first", async () => {
  const reports = await Deno.makeTempDir();
  const write = async (dir: string, rec: unknown) => {
    await Deno.mkdir(join(reports, dir), { recursive: true });
    await Deno.writeTextFile(join(reports, dir, "run.json"), JSON.stringify(rec));
  };
  const cuda = { ortVersion: "1.30.0", provider: "cuda" };
  const cpu = { ortVersion: "1.30.0", provider: "cpu" };
  try {
    const shard = (index: number, count: number) => ({ index, count });
    assertEquals(shardRunName("R-w2", shard(1, 3)), "R-w2-shard-1-of-3");
    await write(shardRunName("R-w1", shard(0, 2)), { shard: shard(0, 2), runtime: cuda });
    await write(shardRunName("R-w2", shard(0, 3)), { shard: shard(0, 3), runtime: cuda });
    await write(shardRunName("R-w2", shard(1, 3)), { shard: shard(1, 3), runtime: cpu });
    await write(shardRunName("R-w2", shard(2, 3)), { shard: shard(2, 3) }); // probed nothing
    await write(shardRunName("R", shard(0, 1)), { shard: shard(0, 1), runtime: cuda });
    // Not R's: another run, R's own final record, a run whose id only starts with "R".
    await write(shardRunName("S-w1", shard(0, 2)), {
      shard: shard(0, 2),
      runtime: { ...cpu, ortVersion: "9" },
    });
    await write("R", { runtime: { ...cpu, ortVersion: "8" } });
    await write(shardRunName("RX-w1", shard(0, 2)), {
      shard: shard(0, 2),
      runtime: { ...cpu, ortVersion: "7" },
    });
    const logged: string[] = [];
    await Deno.mkdir(join(reports, "R-w3-shard-0-of-1"));
    await Deno.writeTextFile(join(reports, "R-w3-shard-0-of-1", "run.json"), "{ not json");
    assertEquals(await shardRuntimes(reports, "R", (l) => logged.push(l)), [cuda, cpu]);
    assertEquals(logged.length, 1);
    assertEquals(/R-w3-shard-0-of-1\/run\.json: shard record unreadable/.test(logged[0]), true);
    assertEquals(await shardRuntimes(reports, "nothing"), []);
    assertEquals(await shardRuntimes(join(reports, "absent"), "R"), []);
  } finally {
    await Deno.remove(reports, { recursive: true });
  }
});

const records: UnitRecord[] = [
  { stage: "preprocess", unit: "c0", outcome: "reused", key: "k1", outputHash: "o1" },
  { stage: "report", unit: "all", outcome: "reused", key: "k2", outputHash: "o2" },
];
const result: RunResult = {
  records,
  summaries: [],
  ok: true,
  quarantined: [],
  readChecks: { files: 0, bytes: 0, seconds: 0 },
  passes: 1,
};

/** A run folder as reproduce leaves it: lockfile, run.json with the render key and file hashes. */
async function folder(render: RenderKey, lockRecords = records, files = ["report.md"]) {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    join(dir, LOCK_NAME),
    JSON.stringify(buildLock("r", "c.json", "h", lockRecords)),
  );
  await Deno.mkdir(join(dir, "figures"));
  const written = [...files, "report.html", "results.json", "figures/f.svg"];
  for (const f of written) await Deno.writeTextFile(join(dir, f), `${f} as rendered`);
  const rendered = { ...render, files: await hashFiles(dir, written) };
  await Deno.writeTextFile(join(dir, RUN_RECORD), JSON.stringify({ runId: "r", render: rendered }));
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
  // The id is part of the key: the same output rendered under another id is another report.
  assertEquals((await renderKeyOf(result, "r2"))!.key === render.key, false);
  assertEquals(await renderKeyOf({ ...result, records: [records[0]] }, "r"), null);
});

Deno.test("a rendered file missing, truncated or edited since makes the folder damaged", async () => {
  const render = (await renderKeyOf(result, "r"))!;
  const lock = buildLock("r", "c.json", "h", records);
  const damage = async (harm: (dir: string) => Promise<void>) => {
    const dir = await folder(render);
    await harm(dir);
    const state = await folderState(dir, lock, render);
    await Deno.remove(dir, { recursive: true });
    return state.state === "damaged" ? state.why : state.state;
  };
  assertEquals(await damage(async () => {}), "up to date");
  assertEquals(
    await damage((d) => Deno.remove(join(d, "figures/f.svg"))),
    "figures/f.svg is missing",
  );
  assertEquals(
    await damage((d) => Deno.truncate(join(d, "results.json"), 5)),
    "results.json changed since it was rendered",
  );
  assertEquals(
    await damage((d) => Deno.writeTextFile(join(d, "report.md"), "edited")),
    "report.md changed since it was rendered",
  );
  // A run.json from before file hashes were recorded cannot vouch for the files.
  assertEquals(
    await damage(async (d) => {
      await Deno.writeTextFile(join(d, RUN_RECORD), JSON.stringify({ runId: "r", render }));
    }),
    "run.json records no hashes of the report's files",
  );
  // A truncated or deleted run.json in this run's folder is named, not silently re-rendered.
  assertEquals(
    await damage((d) => Deno.truncate(join(d, RUN_RECORD), 10)),
    "run.json cannot be read",
  );
  assertEquals(await damage((d) => Deno.remove(join(d, RUN_RECORD))), "run.json is missing");
  // Nor can a list cut down to hide a missing file: every render writes results.json.
  assertEquals(
    await damage(async (d) => {
      const rec = JSON.parse(await Deno.readTextFile(join(d, RUN_RECORD)));
      rec.render.files = { "report.md": rec.render.files["report.md"] };
      await Deno.writeTextFile(join(d, RUN_RECORD), JSON.stringify(rec));
      await Deno.remove(join(d, "results.json"));
    }),
    "run.json records no hash of report.html",
  );
});
