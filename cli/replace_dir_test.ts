import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../tests/assert.ts";
import { replaceDir } from "./replace_dir.ts";

/** A folder `name` under `root` holding `a.txt` and `sub/b.txt`, both saying `name`. */
async function source(root: string, name: string): Promise<string> {
  const dir = join(root, name);
  await Deno.mkdir(join(dir, "sub"), { recursive: true });
  await Deno.writeTextFile(join(dir, "a.txt"), name);
  await Deno.writeTextFile(join(dir, "sub", "b.txt"), name);
  return dir;
}

const read = (dir: string) =>
  Promise.all([
    Deno.readTextFile(join(dir, "a.txt")),
    Deno.readTextFile(join(dir, "sub", "b.txt")),
  ]);

const names = async (dir: string) =>
  (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();

Deno.test("a folder is replaced by a whole copy, and a failed copy leaves it as it was", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dest = join(root, "latest");
    await replaceDir(await source(root, "one"), dest);
    assertEquals(await read(dest), ["one", "one"]);
    await replaceDir(await source(root, "two"), dest);
    assertEquals(await read(dest), ["two", "two"]);
    await assertRejects(() => replaceDir(join(root, "absent"), dest));
    assertEquals(await read(dest), ["two", "two"], "kept whole");
    assertEquals(await names(root), ["latest", "one", "two"], "no temp folder left behind");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("concurrent replacements all succeed and leave one whole copy, nothing else", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dest = join(root, "latest");
    const sources = await Promise.all(
      Array.from({ length: 8 }, (_, i) => source(root, `run${i}`)),
    );
    await replaceDir(sources[0], dest);
    for (let round = 0; round < 3; round++) {
      await Promise.all(sources.map((s) => replaceDir(s, dest)));
    }
    const [a, b] = await read(dest);
    assertEquals(a, b, "both files from the same run");
    assert(sources.some((s) => s.endsWith(a)));
    assertEquals(await names(root), ["latest", ...sources.map((s) => s.slice(root.length + 1))]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a file in place of the destination is named, with the folder that holds the run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "run"));
    await Deno.writeTextFile(join(dir, "run", "a.txt"), "a");
    await Deno.writeTextFile(join(dir, "latest"), "not a folder");
    const e = await assertRejects(() => replaceDir(join(dir, "run"), join(dir, "latest")));
    const m = (e as Error).message;
    assert(m.startsWith(`${join(dir, "latest")} cannot be replaced by the new copy (`), m);
    assert(m.endsWith(`${join(dir, "run")} holds the run`), m);
    assert(!m.includes("rename '"), m);
    // Nothing of the attempt is left beside it.
    const left = (await Array.fromAsync(Deno.readDir(dir))).map((d) => d.name).sort();
    assertEquals(left, ["latest", "run"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
