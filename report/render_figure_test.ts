import assert from "node:assert/strict";
import type { TopLevelSpec } from "vega-lite";
import { compileSpec, renderFigure } from "./render_figure.ts";

const spec = {
  data: { values: [{ a: "x", b: 1 }, { a: "y", b: 3 }] },
  mark: "bar",
  encoding: { x: { field: "a", type: "nominal" }, y: { field: "b", type: "quantitative" } },
} as TopLevelSpec;

Deno.test("renderFigure: SVG with the data's bars, PNG at the requested scale", async () => {
  const r1 = await renderFigure(spec, "t", { pngScale: 1 });
  const r2 = await renderFigure(spec, "t", { pngScale: 2 });
  assert.equal((r1.svg.match(/aria-roledescription="bar"/g) ?? []).length, 2);
  const width = (png: Uint8Array) => new DataView(png.buffer, png.byteOffset).getUint32(16);
  const svgWidth = Number(r1.svg.match(/width="(\d+)"/)![1]);
  assert.ok(Math.abs(width(r1.png) - svgWidth) <= 1);
  assert.ok(Math.abs(width(r2.png) - 2 * svgWidth) <= 2);
  assert.ok("marks" in r1.vega);
});

Deno.test("compile errors name the figure", () => {
  assert.throws(
    () => compileSpec({ mark: "nonsense" } as unknown as TopLevelSpec, "fig-bad"),
    /figure fig-bad: vega-lite/,
  );
});
