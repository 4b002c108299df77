import assert from "node:assert/strict";
import sharp from "sharp";
import { checkPixelImage, downsample, loadTileImage, pixelColor } from "./tile_image.ts";

Deno.test("downsample box-averages and never upsamples", () => {
  // 4x2 greyscale: left half 0, right half 200.
  const img = {
    width: 4,
    height: 2,
    channels: 1 as const,
    pixels: [0, 0, 200, 200, 0, 0, 200, 200],
  };
  const d = downsample(img, 2);
  assert.deepEqual([d.width, d.height], [2, 1]);
  assert.deepEqual(Array.from(d.pixels), [0, 200]);
  assert.equal(downsample(img, 10), img);
  const rgb = {
    width: 2,
    height: 2,
    channels: 3 as const,
    pixels: [10, 20, 30, 30, 40, 50, 10, 20, 30, 30, 40, 50],
  };
  assert.deepEqual(Array.from(downsample(rgb, 1).pixels), [20, 30, 40]);
});

Deno.test("pixelColor: grey, RGB, and luma", () => {
  assert.equal(pixelColor({ width: 1, height: 1, channels: 1, pixels: [255] }, 0), "#ffffff");
  const rgb = { width: 1, height: 1, channels: 3 as const, pixels: [255, 0, 16] };
  assert.equal(pixelColor(rgb, 0), "#ff0010");
  assert.equal(pixelColor(rgb, 0, true), "#4e4e4e"); // 0.299*255 + 0.114*16 = 78.1
});

Deno.test("checkPixelImage names the key at fault", () => {
  assert.throws(
    () =>
      checkPixelImage({ width: 2, height: 2, channels: 3, pixels: [1, 2] }, "figures.mse.image"),
    /figures\.mse\.image: 2 pixel values, expected 2x2x3/,
  );
});

Deno.test("loadTileImage reads a PNG path and fits it in maxSide", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/img.png`;
    const raw = new Uint8Array(64 * 48 * 3);
    for (let i = 0; i < 64 * 48; i++) raw[i * 3] = i % 64 < 32 ? 0 : 255; // red on the right
    await sharp(raw, { raw: { width: 64, height: 48, channels: 3 } }).png().toFile(path);
    const img = await loadTileImage({ path }, 16, "figures.mse.image");
    assert.deepEqual([img.width, img.height, img.channels], [16, 12, 3]);
    assert.ok(img.pixels[0] < 20 && img.pixels[(16 - 1) * 3] > 235);
    await assert.rejects(
      () => loadTileImage({ path: `${dir}/missing.png` }, 16, "figures.cross_test.image"),
      /figures\.cross_test\.image: cannot read image .*missing\.png/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
