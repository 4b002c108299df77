import { join } from "node:path";
import { assertEquals } from "../tests/assert.ts";
import { shardRunName } from "../pipeline/cluster.ts";
import { shardRuntimes } from "./run_record.ts";

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
