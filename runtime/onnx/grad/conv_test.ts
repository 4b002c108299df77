import { Rng } from "../../../lib/rng.ts";
import { node } from "../builder.ts";
import { expectClose, randomTensor } from "./testing.ts";

const rng = new Rng(21);

Deno.test("Conv: groups, strides, dilations, asymmetric pads, odd sizes, auto_pad", async () => {
  const cases: [string, number[], number[], Record<string, number[] | number | string>][] = [
    ["plain 3x3", [2, 6, 6], [4, 2, 3, 3], { pads: [1, 1, 1, 1] }],
    ["stride 2 odd input", [2, 7, 7], [3, 2, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }],
    ["stride 2 pad end only", [2, 8, 7], [3, 2, 3, 3], { strides: [2, 2], pads: [0, 0, 1, 1] }],
    ["stride 3 drops rows", [2, 8, 8], [3, 2, 2, 2], { strides: [3, 3] }],
    ["dilation 2", [2, 7, 7], [2, 2, 3, 3], { dilations: [2, 2], pads: [2, 1, 2, 1] }],
    ["groups 2", [4, 5, 5], [6, 2, 3, 3], { group: 2, pads: [1, 1, 1, 1] }],
    ["depthwise", [4, 5, 5], [4, 1, 3, 3], { group: 4, pads: [1, 1, 1, 1], strides: [2, 2] }],
    ["SAME_UPPER stride 2", [2, 7, 6], [3, 2, 3, 3], { auto_pad: "SAME_UPPER", strides: [2, 2] }],
    ["SAME_LOWER", [2, 6, 6], [3, 2, 4, 4], { auto_pad: "SAME_LOWER" }],
    ["VALID", [2, 6, 6], [3, 2, 3, 3], { auto_pad: "VALID" }],
  ];
  for (const [name, x, w, attrs] of cases) {
    await expectClose(`Conv ${name}`, {
      x,
      nodes: [node("Conv", ["x", "w", "b"], ["y"], attrs)],
      inits: [randomTensor("w", w, rng, 0.5), randomTensor("b", [w[0]], rng)],
    });
  }
  await expectClose("Conv 1-D", {
    x: [2, 9],
    nodes: [node("Conv", ["x", "w"], ["y"], { strides: [2], pads: [1, 0] })],
    inits: [randomTensor("w", [3, 2, 3], rng)],
  });
});

Deno.test("ConvTranspose: stride, pads, output_padding, groups", async () => {
  await expectClose("ConvTranspose", {
    x: [4, 4, 5],
    nodes: [
      node("ConvTranspose", ["x", "w"], ["y"], {
        strides: [2, 2],
        pads: [1, 0, 1, 1],
        output_padding: [1, 0],
        group: 2,
      }),
    ],
    inits: [randomTensor("w", [4, 3, 3, 3], rng, 0.5)],
  });
});
