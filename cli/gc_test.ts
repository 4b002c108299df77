import { assertEquals } from "../tests/assert.ts";
import { latestLeftovers, leftoverKind, storeLines } from "./gc.ts";
import { join } from "node:path";

Deno.test("gc names each temporary or corrupt folder it removes, and counts the entries", () => {
  const r = {
    removed: [
      "kpca/ab12",
      "kpca/.tmp-ab12cd34ef56-x1",
      "mse-search/.corrupt-0123456789ab-17",
      "kpca/cd",
    ],
    bytesFreed: 2_500_000,
    kept: 7,
    lockfiles: 2,
  };
  assertEquals(storeLines(r, true, "artifacts"), [
    "would remove 2 store entries and 2 leftover folders (2.5 MB); kept 7 referenced by 2 lockfiles",
    "  artifacts/kpca/.tmp-ab12cd34ef56-x1 (temporary folder of a unit cut short)",
    "  artifacts/mse-search/.corrupt-0123456789ab-17 (corrupt entry moved aside)",
  ]);
  assertEquals(storeLines({ ...r, removed: ["kpca/ab12"] }, false, "a"), [
    "removed 1 store entries (2.5 MB); kept 7 referenced by 2 lockfiles",
  ]);
  assertEquals(leftoverKind("ab12"), null);
});

Deno.test("gc removes copies of reports/latest that a cut-short refresh left, once an hour old", async () => {
  const reports = await Deno.makeTempDir();
  try {
    for (const d of ["latest", "run-1", "latest.12.ab12cd34.tmp", "latest.12.ab12cd34.0.old"]) {
      await Deno.mkdir(join(reports, d));
    }
    // Young ones may be a refresh in flight: left alone.
    assertEquals(await latestLeftovers(reports, false), []);
    const later = Date.now() + 2 * 3600_000;
    const found = ["latest.12.ab12cd34.0.old", "latest.12.ab12cd34.tmp"];
    assertEquals((await latestLeftovers(reports, true, later)).sort(), found);
    assertEquals((await latestLeftovers(reports, false, later)).sort(), found);
    const left = (await Array.fromAsync(Deno.readDir(reports))).map((e) => e.name).sort();
    assertEquals(left, ["latest", "run-1"]);
  } finally {
    await Deno.remove(reports, { recursive: true });
  }
});
