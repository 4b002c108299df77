import { assertEquals } from "../tests/assert.ts";
import { leftoverKind, storeLines } from "./gc.ts";

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
