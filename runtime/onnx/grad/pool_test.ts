import { node } from "../builder.ts";
import { assertEquals } from "../../../tests/assert.ts";
import { averageDivisors } from "./pool.ts";
import { expectClose } from "./testing.ts";

// Distinct, well-separated values so max positions are stable under the finite difference.
const spread = (_r: unknown, i: number) => ((i * 37) % 101) / 10;

Deno.test("MaxPool: overlapping windows, pads, ceil_mode, dilations", async () => {
  const cases: [string, Record<string, number[] | number>][] = [
    ["2x2/2", { kernel_shape: [2, 2], strides: [2, 2] }],
    ["3x3/2 pad 1 (ResNet stem)", { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
    ["3x3/2 ceil", { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }],
    ["dilated", { kernel_shape: [2, 2], dilations: [2, 2] }],
  ];
  for (const [name, attrs] of cases) {
    await expectClose(`MaxPool ${name}`, {
      x: [2, 7, 7],
      nodes: [node("MaxPool", ["x"], ["y"], attrs)],
      sample: spread, // gaps of 0.1 ≫ eps·|v|: no max switches inside the difference
    });
  }
});

Deno.test("AveragePool: count_include_pad both ways, strides, ceil_mode; global pools", async () => {
  const cases: [string, Record<string, number[] | number>][] = [
    ["2x2/2", { kernel_shape: [2, 2], strides: [2, 2] }],
    ["3x3/2 pad exclude", { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
    ["3x3/1 pad include", {
      kernel_shape: [3, 3],
      pads: [1, 0, 1, 2],
      count_include_pad: 1,
    }],
    ["3x3/2 ceil", { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }],
    ["3x3/2 ceil pad", { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1, pads: [1, 1, 1, 1] }],
  ];
  for (const [name, attrs] of cases) {
    await expectClose(`AveragePool ${name}`, {
      x: [2, 7, 6],
      nodes: [node("AveragePool", ["x"], ["y"], attrs)],
    });
  }
  await expectClose("GlobalAveragePool", {
    x: [3, 4, 5],
    nodes: [node("GlobalAveragePool", ["x"], ["y"])],
  });
  await expectClose("GlobalMaxPool", {
    x: [3, 4, 5],
    nodes: [node("GlobalMaxPool", ["x"], ["y"])],
    sample: spread,
  });
});

Deno.test("averageDivisors counts window cells inside the (padded) input", () => {
  // 1-D: in 5, kernel 3, stride 2, pads 1/1 -> windows [-1,2), [1,4), [3,6)
  assertEquals(averageDivisors([5], [3], [3], [2], [1, 1], false), [2, 3, 2]);
  assertEquals(averageDivisors([5], [3], [3], [2], [1, 1], true), [3, 3, 3]);
});
