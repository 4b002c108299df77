import { join } from "node:path";
import { assert, assertEquals } from "../tests/assert.ts";
import { syntheticSpec } from "../tests/fixtures/synthetic_stages.ts";
import { runPipeline, type RunResult } from "./runner.ts";
import type { Manifest } from "./store.ts";
import { derivedFromCorrupt } from "./verify.ts";

const quiet = { progress: { live: false, write: () => {} }, log: () => {} };

/** A manifest with just what `derivedFromCorrupt` looks at. */
function entry(
  stage: string,
  unit: string,
  outputHash: string,
  inputs: Record<string, string>,
  readsChecked = true,
): Manifest {
  return {
    stage,
    unit,
    key: `${stage}-${unit}-${outputHash}`,
    outputHash,
    components: {
      code: "",
      codeFiles: {},
      params: null,
      paramsHash: "",
      inputs,
      files: {},
      runtime: null,
    },
    files: {},
    counters: {},
    provenance: {},
    ...(readsChecked ? { readsChecked: true as const } : {}),
  };
}

Deno.test("derivedFromCorrupt: checked readers are sound; unchecked ones and all they fed are not", () => {
  const corrupt = [{ stage: "a", unit: "u", outputHash: "A" }];
  const checked = entry("b", "u", "B1", { "a/u": "A" });
  const unchecked = entry("b", "v", "B2", { "a/u": "A" }, false);
  const fedByUnchecked = entry("c", "u", "C", { "b/v": "B2" });
  const fedByChecked = entry("c", "v", "D", { "b/u": "B1" });
  const otherVersion = entry("b", "w", "B3", { "a/u": "A-other" }, false);
  const got = derivedFromCorrupt(
    [fedByUnchecked, checked, unchecked, fedByChecked, otherVersion],
    corrupt,
  );
  assertEquals(got.map((d) => [d.manifest.stage, d.manifest.unit]), [["b", "v"], ["c", "u"]]);
  assert(got[0].reason.includes("without checked reads"), got[0].reason);
  assert(got[1].reason.includes("was built from b/v"), got[1].reason);
});

/** `stage/unit` → output hash of every unit a run used. */
const outputsOf = (r: RunResult) =>
  Object.fromEntries(r.records.map((x) => [`${x.stage}/${x.unit}`, x.outputHash]));

Deno.test("--verify hashes the whole store, and drops entries built from a corrupt one without checked reads", async () => {
  const root = await Deno.makeTempDir();
  try {
    const first = await runPipeline(syntheticSpec(root, 3), quiet);
    // An entry of another config: not in this run's plan, hashed all the same.
    const other = await runPipeline(syntheticSpec(root, 3, { square: { scale: 2 } }), quiet);
    const key = (r: RunResult, stage: string, unit: string) =>
      r.records.find((x) => x.stage === stage && x.unit === unit)!.key!;
    const flip = async (stage: string, k: string, file: string) => {
      const path = join(root, stage, k, file);
      const bytes = await Deno.readFile(path);
      bytes[bytes.length - 3] ^= 1;
      await Deno.writeFile(path, bytes);
    };
    await flip("source", key(first, "source", "item001"), "value.json");
    await flip("square", key(other, "square", "item002"), "value.json");
    // square/item001 as an engine without checked reads would have left it: it may hold a result
    // computed from the corrupt bytes, though its own bytes match its manifest.
    const sq = join(root, "square", key(first, "square", "item001"), "manifest.json");
    const m = JSON.parse(await Deno.readTextFile(sq));
    delete m.readsChecked;
    await Deno.writeTextFile(sq, JSON.stringify(m));
    const logs: string[] = [];
    const dry = await runPipeline(syntheticSpec(root, 3), {
      ...quiet,
      verify: true,
      dryRun: true,
      log: (l) => logs.push(l),
    });
    assert(dry.quarantined.every((q) => q.to === null), "a dry run moves nothing");
    assertEquals(
      dry.records.filter((r) => r.outcome === "planned").map((r) => `${r.stage}/${r.unit}`),
      ["source/item001", "square/item001", "total/all", "side/all"],
    );
    const r = await runPipeline(syntheticSpec(root, 3), { ...quiet, verify: true });
    assert(r.ok);
    const found = r.quarantined.map((q) => `${q.found} ${q.stage}/${q.unit}`).sort();
    assertEquals(found, [
      "verify source/item001",
      "verify square/item002", // the other config's entry
      "verify-derived square/item001",
      "verify-derived total/all", // read checked bytes of square/item001, whose content is wrong
    ]);
    assertEquals(r.verified!.entries, 12, "8 entries of this config, 4 of the other");
    assertEquals(outputsOf(r), outputsOf(first));
    const again = await runPipeline(syntheticSpec(root, 3), { ...quiet, verify: true });
    assertEquals(again.quarantined, [], "nothing left to find");
    assertEquals(again.summaries.map((s) => s.computed), [0, 0, 0, 0]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
