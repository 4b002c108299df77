import { join } from "node:path";
import { assert, assertEquals } from "../tests/assert.ts";
import { CorruptEntryError, emptyReadStats, readChecked } from "./checked_read.ts";
import { Store } from "./store.ts";

Deno.test("readChecked returns matching bytes and names the file and the reason otherwise", async () => {
  const store = new Store(await Deno.makeTempDir());
  try {
    const tmp = await store.begin("s", "k".repeat(64));
    await Deno.writeTextFile(join(tmp, "a.json"), '{"v": 1}');
    await Deno.writeTextFile(join(tmp, "b.txt"), "bbb");
    const m = await store.commit(tmp, {
      stage: "s",
      unit: "u",
      key: "k".repeat(64),
      components: {
        code: "",
        codeFiles: {},
        params: null,
        paramsHash: "",
        inputs: {},
        files: {},
        runtime: null,
      },
      counters: {},
      provenance: {},
    });
    const stats = emptyReadStats();
    assertEquals(
      new TextDecoder().decode(await readChecked(store, m, "a.json", stats)),
      '{"v": 1}',
    );
    assertEquals([stats.files, stats.bytes], [1, 8]);
    const dir = store.entryDir("s", m.key);
    const fails = async (file: string, detail: string) => {
      const e = await readChecked(store, m, file).then(() => null, (e) => e);
      assert(e instanceof CorruptEntryError, `${file}: ${e}`);
      assertEquals([e.stage, e.unit, e.key, e.file, e.detail], ["s", "u", m.key, file, detail]);
      assertEquals(e.message, `s/u (entry kkkkkkkkkkkk): ${file} ${detail}`);
    };
    await Deno.writeTextFile(join(dir, "a.json"), '{"v": 2}');
    await fails("a.json", "does not match its sha256");
    await Deno.writeTextFile(join(dir, "a.json"), '{"v": 10}');
    await fails("a.json", "has 9 bytes, expected 8");
    await Deno.remove(join(dir, "b.txt"));
    await fails("b.txt", "is missing");
    await fails("c.txt", "is not in the entry's manifest");
  } finally {
    await Deno.remove(store.root, { recursive: true });
  }
});
