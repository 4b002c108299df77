import assert from "node:assert/strict";
import { PACKAGES, readVendorScripts } from "./vendor.ts";

Deno.test("the three browser builds are found, versioned, and define their globals", async () => {
  const libs = await readVendorScripts();
  assert.deepEqual(libs.map((l) => l.pkg), [...PACKAGES]);
  const globals = { "vega": "vega", "vega-lite": "vegaLite", "vega-embed": "vegaEmbed" };
  for (const l of libs) {
    assert.match(l.version, /^\d+\.\d+\.\d+/);
    assert.ok(l.path.includes(`/${l.pkg}/`), l.path);
    assert.ok(l.source.length > 10_000, `${l.pkg} build is tiny`);
    assert.ok(l.source.includes(globals[l.pkg as keyof typeof globals]), `${l.pkg}: no UMD global`);
  }
  const versions = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)))
    .imports as Record<string, string>;
  // Inlined builds come from the same packages the renderer imports.
  for (const l of libs) assert.ok(versions[l.pkg]?.startsWith(`npm:${l.pkg}@`), l.pkg);
});
