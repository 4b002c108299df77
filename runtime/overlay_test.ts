import sharp from "sharp";
import { assert, assertEquals } from "../tests/assert.ts";
import { heatColour, overlayPixels, overlayPng } from "./overlay.ts";

Deno.test("overlay puts the heatmap's hot cell in warm colours and the cold ones in blue", () => {
  const img = new Float32Array(28 * 28).fill(0.5);
  const hm = new Float32Array(49);
  hm[0] = 1;
  const px = overlayPixels(img, 1, 28, 28, hm, 7);
  const at = (y: number, x: number) =>
    Array.from(px.subarray((y * 28 + x) * 3, (y * 28 + x) * 3 + 3));
  const [r0, , b0] = at(0, 0), [r1, , b1] = at(27, 27);
  assert(r0 > b0, `hot corner ${at(0, 0)}`);
  assert(b1 > r1, `cold corner ${at(27, 27)}`);
  assertEquals(heatColour(0).map(Math.round), [48, 18, 59]);
});

Deno.test("overlay PNG is scaled up so small images can be seen", async () => {
  const png = await overlayPng(
    new Float32Array(3 * 28 * 28).fill(0.2),
    3,
    28,
    28,
    new Float32Array(49),
    7,
  );
  const meta = await sharp(png).metadata();
  assertEquals([meta.width, meta.height, meta.format], [112, 112, "png"]);
});
