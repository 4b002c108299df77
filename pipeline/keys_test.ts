import assert from "node:assert/strict";
import { join } from "node:path";
import { FileHashes, keyComponents } from "./keys.ts";
import type { AnyStage, UnitPlan } from "./stage.ts";

const stage = {
  name: "s",
  after: [],
  module: new URL("./dag.ts", import.meta.url).href,
} as unknown as AnyStage;

const noRuntime = () => Promise.reject(new Error("no runtime needed"));

/** The key of a unit reading `names` under `root`, named relative to it or not. */
async function keyOf(root: string, names: string[], relative: boolean, cache: FileHashes) {
  const unit: UnitPlan = {
    id: "u",
    params: { n: names.length },
    inputs: [],
    files: names.map((n) => join(root, n)),
    filesRoot: relative ? root : undefined,
  };
  const k = await keyComponents(stage, unit, new Map(), cache, noRuntime);
  if (!("key" in k)) throw new Error("unexpected missing input");
  return k;
}

Deno.test("files named relative to filesRoot: a moved folder keeps the key, new contents do not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-keys-" });
  try {
    const [a, b] = [join(dir, "a", "data"), join(dir, "elsewhere", "b")];
    for (const root of [a, b]) {
      await Deno.mkdir(join(root, "sub"), { recursive: true });
      await Deno.writeTextFile(join(root, "x.png"), "x");
      await Deno.writeTextFile(join(root, "sub", "y.png"), "y");
    }
    const cache = new FileHashes(join(dir, "hashes.json"));
    const names = ["x.png", "sub/y.png"];
    const ka = await keyOf(a, names, true, cache), kb = await keyOf(b, names, true, cache);
    assert.equal(ka.key, kb.key);
    assert.deepEqual(Object.keys(ka.components.files), names);
    // Without a root, files are named by their paths, so the move changes the key.
    assert.notEqual(
      (await keyOf(a, names, false, cache)).key,
      (await keyOf(b, names, false, cache)).key,
    );
    // Same name, other contents: another key.
    await Deno.writeTextFile(join(b, "x.png"), "changed");
    assert.notEqual((await keyOf(b, names, true, cache)).key, ka.key);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
