import assert from "node:assert/strict";
import { centerCrop, cropOffset, resizedSize } from "./resize_crop.ts";

Deno.test("resize of the short side then center crop, as torchvision", () => {
  assert.deepEqual(resizedSize(300, 200, 256), [384, 256]);
  assert.deepEqual(resizedSize(200, 333, 256), [256, 426]); // 426.24 truncated
  assert.deepEqual(resizedSize(100, 100, 256), [256, 256]);
  // Python round: halves go to even.
  assert.deepEqual([cropOffset(7, 4), cropOffset(9, 4), cropOffset(11, 4)], [2, 2, 4]);
  assert.equal(cropOffset(6, 8), -1);
  // A 9x7 image whose pixel value encodes its position; crop 4 from offset (top 2, left 2).
  const w = 9, h = 7;
  const src = Float32Array.from({ length: w * h }, (_, i) => i);
  const c = centerCrop(src, 1, h, w, 4, 4);
  assert.deepEqual(Array.from(c.subarray(0, 4)), [2 * w + 2, 2 * w + 3, 2 * w + 4, 2 * w + 5]);
  // Larger crop pads with zeros around.
  const padded = centerCrop(Float32Array.from({ length: 36 }, () => 1), 1, 6, 6, 8, 8);
  assert.equal(padded[0], 0);
  assert.equal(padded[9], 1);
  assert.equal(padded.reduce((s, v) => s + v, 0), 36);
});
