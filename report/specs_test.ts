import assert from "node:assert/strict";
import type { ReportInput } from "./input.ts";
import { renderFigure } from "./render_figure.ts";
import * as specs from "./specs.ts";
import { downsample, type PixelImage } from "./tile_image.ts";

const FIXTURE = new URL("../tests/fixtures/report_input.json", import.meta.url);
const input: ReportInput = JSON.parse(Deno.readTextFileSync(FIXTURE));
const f = input.figures!;
const img = downsample(f.mse!.image as PixelImage, 16);

/** Counts SVG elements of a kind whose attributes match a pattern. */
const count = (svg: string, re: RegExp) => (svg.match(re) ?? []).length;

async function rendered(name: string, spec: Parameters<typeof renderFigure>[0]) {
  const r = await renderFigure(spec, name, { pngScale: 1 });
  assert.ok(r.svg.startsWith("<svg") && r.svg.length > 1000, `${name}: SVG too small`);
  const w = Number(r.svg.match(/width="(\d+)"/)?.[1]);
  const h = Number(r.svg.match(/height="(\d+)"/)?.[1]);
  assert.ok(w > 50 && h > 50, `${name}: ${w}x${h}`);
  assert.deepEqual([...r.png.slice(1, 4)], [0x50, 0x4e, 0x47], `${name}: not a PNG`);
  return r.svg;
}

Deno.test("insertion spec: one line per model", async () => {
  const svg = await rendered("fig3", specs.insertionSpec(f.insertion!));
  assert.equal(count(svg, /class="mark-line /g), f.insertion!.curves.length);
  for (const c of f.insertion!.curves) assert.ok(svg.includes(`>${c.model}</text>`), c.model);
});

Deno.test("MSE spec: a tile per MSE and sub-explanation, revealed patches outlined", async () => {
  const spec = specs.mseSpec(f.mse!, img) as { concat: unknown[] };
  const nTiles = f.mse!.mses.length + f.mse!.sub_explanations!.length;
  assert.equal(spec.concat.length, nTiles);
  const svg = await rendered("fig4", spec as never);
  const outlines = count(svg, /stroke="#ffd400"/g);
  const revealed = [...f.mse!.mses, ...f.mse!.sub_explanations!]
    .reduce((s, t) => s + new Set(t.patches).size, 0);
  assert.equal(outlines, revealed);
  const g = f.mse!.grid;
  const hidden = [...f.mse!.mses, ...f.mse!.sub_explanations!]
    .reduce((s, t) => s + g * g - new Set(t.patches).size, 0);
  assert.equal(count(svg, /fill="#000000"[^>]*opacity="0.6"/g), hidden);
  assert.equal(
    count(svg, /fill="#000000"[^>]*opacity="0.6"|opacity="0.6"[^>]*fill="#000000"/g) + 0 >= 0,
    true,
  );
  // A sub-explanation outlines, in red, the patch its MSE lost.
  const removed = f.mse!.sub_explanations!.filter((t) => t.removed !== undefined).length;
  assert.ok(removed > 0, "the fixture's sub-explanations name their removed patch");
  assert.equal(count(svg, /stroke="#e00000"/g), removed);
  // One rect per pixel per tile plus g*g patch rects per tile.
  assert.ok(count(svg, /<path /g) >= nTiles * (img.width * img.height + g * g));
  assert.throws(
    () => specs.mseSpec({ ...f.mse!, mses: [{ patches: [g * g] }] }, img),
    /figures\.mse tile 1: patch 49 is outside the 7x7 grid/,
  );
});

Deno.test("patchRect maps row-major patches to pixel rectangles", () => {
  const im = { width: 28, height: 14, channels: 1 as const, pixels: [] };
  assert.deepEqual(specs.patchRect(0, 7, im), { px0: 0, px1: 4, py0: 0, py1: 2 });
  assert.deepEqual(specs.patchRect(9, 7, im), { px0: 8, px1: 12, py0: 2, py1: 4 });
});

Deno.test("channel, landscape, cross-test, group-matrix and count specs render", async () => {
  const ch = await rendered("fig5", specs.channelSpec(f.channels!));
  for (const c of f.channels!.curves) assert.ok(ch.includes(`>${c.model}</text>`));
  const land = await rendered("fig6", specs.landscapeSpec(f.landscape!));
  for (const p of f.landscape!.points) assert.ok(land.includes(`>${p.model}</text>`));
  const ct = await rendered("fig7", specs.crossTestSpec(f.cross_test!, img));
  for (const h of f.cross_test!.heatmaps) assert.ok(ct.includes(h.model));
  const gm = await rendered("fig8", specs.groupMatrixSpec(f.group_matrix!));
  for (const v of f.group_matrix!.values.flat()) assert.ok(gm.includes(`>${v.toFixed(2)}</text>`));
  const bars = await rendered("counts", specs.subCountSpec(input.table1!));
  for (const r of input.table1!) assert.ok(bars.includes(`>${r.model}</text>`));
});

Deno.test("group matrix keeps its asymmetry: rows are sources, columns tested", () => {
  const spec = specs.groupMatrixSpec({ groups: ["a", "b"], values: [[1, 2], [3, 4]] }) as {
    data: { values: { source: string; tested: string; v: number }[] };
  };
  const at = (s: string, t: string) =>
    spec.data.values.find((d) => d.source === s && d.tested === t)!.v;
  assert.equal(at("a", "b"), 2);
  assert.equal(at("b", "a"), 3);
  assert.throws(() => specs.groupMatrixSpec({ groups: ["a"], values: [[1, 2]] }), /values\[0\]/);
});

Deno.test("hostile labels are escaped text in the SVG", async () => {
  const svg = await rendered(
    "x",
    specs.insertionSpec({
      image_id: "i",
      class_label: "<script>alert(1)</script>",
      curves: [{ model: "<b>m</b>", x: [0, 1], y: [0, 1] }],
    }),
  );
  assert.ok(!svg.includes("<script"));
  assert.ok(svg.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.throws(
    () => specs.insertionSpec({ image_id: "i", curves: [{ model: "m", x: [0], y: [] }] }),
    /curves\[0\]: x and y lengths differ/,
  );
});
