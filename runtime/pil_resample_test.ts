import assert from "node:assert/strict";
import { resample } from "./pil_resample.ts";

// Reference outputs of PIL 9.4.0 `Image.resize` on 8-bit greyscale images.
const pilRow = [0, 100, 200, 250]; // 4 x 1, enlarged to 10 x 1
const pilRowOut = {
  bilinear: [0, 10, 50, 90, 130, 170, 205, 225, 245, 250],
  bicubic: [0, 6, 41, 89, 132, 174, 207, 232, 247, 255],
  nearest: [0, 0, 100, 100, 100, 200, 200, 200, 250, 250],
};
// 7 x 5 with value (53x + 97y + 31xy) mod 256, resized to 3 x 8 (shrink x, enlarge y).
const pilGridOut = {
  bilinear: [
    45,
    144,
    71,
    75,
    122,
    71,
    115,
    93,
    72,
    124,
    89,
    72,
    121,
    109,
    106,
    106,
    153,
    175,
    113,
    154,
    183,
    119,
    151,
    183,
  ],
  bicubic: [
    34,
    159,
    69,
    67,
    131,
    71,
    116,
    91,
    73,
    129,
    84,
    62,
    123,
    107,
    101,
    105,
    152,
    182,
    112,
    155,
    189,
    121,
    151,
    182,
  ],
  nearest: [
    53,
    159,
    9,
    53,
    159,
    9,
    181,
    93,
    5,
    53,
    27,
    1,
    53,
    27,
    1,
    181,
    217,
    253,
    53,
    151,
    249,
    53,
    151,
    249,
  ],
};

Deno.test("resample reproduces PIL's Image.resize bit for bit on 8-bit data", () => {
  const grid = Float32Array.from(
    { length: 35 },
    (_, i) => (53 * (i % 7) + 97 * Math.floor(i / 7) + 31 * (i % 7) * Math.floor(i / 7)) % 256,
  );
  for (const mode of ["bilinear", "bicubic", "nearest"] as const) {
    const row = resample(Float32Array.from(pilRow), 1, 1, 4, 1, 10, mode, true);
    assert.deepEqual(Array.from(row), pilRowOut[mode], `row ${mode}`);
    const g = resample(grid, 1, 5, 7, 8, 3, mode, true);
    assert.deepEqual(Array.from(g), pilGridOut[mode], `grid ${mode}`);
  }
  // Float mode (16-bit sources) stays within rounding of the 8-bit result.
  const f = resample(grid, 1, 5, 7, 8, 3, "bilinear", false);
  f.forEach((v, i) => assert.ok(Math.abs(v - pilGridOut.bilinear[i]) <= 1, `${v} at ${i}`));
  // A constant image stays constant, shrinking or enlarging, per channel.
  const flat = new Float32Array(2 * 30 * 20);
  flat.fill(77, 0, 600).fill(200, 600);
  for (const [oh, ow] of [[7, 11], [64, 45]]) {
    const r = resample(flat, 2, 30, 20, oh, ow, "bicubic", true);
    assert.ok(
      r.subarray(0, oh * ow).every((v) => v === 77) && r.subarray(oh * ow).every((v) => v === 200),
    );
  }
});
