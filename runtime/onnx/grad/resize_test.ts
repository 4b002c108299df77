import { assertEquals } from "../../../tests/assert.ts";
import { floatTensor, int64Tensor, node } from "../builder.ts";
import { resizeMatrix } from "./resize.ts";
import { expectClose } from "./testing.ts";

Deno.test("Resize nearest and linear, by scales and by sizes", async () => {
  await expectClose("nearest x2 asymmetric floor", {
    x: [2, 3, 3],
    nodes: [node("Resize", ["x", "", "sc"], ["y"], {
      mode: "nearest",
      coordinate_transformation_mode: "asymmetric",
      nearest_mode: "floor",
    })],
    inits: [floatTensor("sc", [4], [1, 1, 2, 2])],
  });
  await expectClose("linear half_pixel fractional scales", {
    x: [2, 3, 4],
    nodes: [node("Resize", ["x", "", "sc"], ["y"], { mode: "linear" })],
    inits: [floatTensor("sc", [4], [1, 1, 2.5, 1.5])],
  });
  await expectClose("nearest by sizes (opset 18 axes)", {
    x: [2, 3, 4],
    opset: 18,
    nodes: [node("Resize", ["x", "", "", "sz"], ["y"], { mode: "nearest", axes: [2, 3] })],
    inits: [int64Tensor("sz", [2], [7, 5])],
  });
  await expectClose("linear align_corners downsample", {
    x: [1, 6, 6],
    nodes: [node("Resize", ["x", "", "sc"], ["y"], {
      mode: "linear",
      coordinate_transformation_mode: "align_corners",
    })],
    inits: [floatTensor("sc", [4], [1, 1, 0.5, 0.5])],
  });
});

Deno.test("resizeMatrix rows sum to 1", () => {
  const m = resizeMatrix(4, 7, 7 / 4, "linear", "half_pixel", "round_prefer_floor");
  for (let o = 0; o < 7; o++) {
    let s = 0;
    for (let i = 0; i < 4; i++) s += m[o * 4 + i];
    assertEquals(Math.round(s * 1e9) / 1e9, 1);
  }
});
