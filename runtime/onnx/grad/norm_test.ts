import { Rng } from "../../../lib/rng.ts";
import { floatTensor, int64Tensor, node } from "../builder.ts";
import { expectClose, randomTensor } from "./testing.ts";

const rng = new Rng(41);
const positive = (c: number) =>
  floatTensor("var", [c], Array.from({ length: c }, (_, i) => 0.5 + i));

Deno.test("BatchNormalization (inference) on 4-D and 3-D inputs", async () => {
  for (const x of [[3, 4, 4], [3, 5]]) {
    await expectClose(`BN ${x}`, {
      x,
      nodes: [node("BatchNormalization", ["x", "s", "b", "m", "var"], ["y"], { epsilon: 1e-3 }, {
        floatKeys: ["epsilon"],
      })],
      inits: [
        randomTensor("s", [3], rng),
        randomTensor("b", [3], rng),
        randomTensor("m", [3], rng),
        positive(3),
      ],
    });
  }
});

Deno.test("LayerNormalization (opset 17) over one and two trailing axes, positive axis", async () => {
  await expectClose("LN last axis", {
    x: [3, 6],
    nodes: [node("LayerNormalization", ["x", "s", "b"], ["y"], { axis: -1, epsilon: 1e-5 }, {
      floatKeys: ["epsilon"],
    })],
    inits: [randomTensor("s", [6], rng), randomTensor("b", [6], rng)],
  });
  await expectClose("LN two axes", {
    x: [3, 4],
    nodes: [node("LayerNormalization", ["x", "s"], ["y"], { axis: 1 })],
    inits: [randomTensor("s", [3, 4], rng)],
  });
});

Deno.test("LayerNorm as exported at opset 13 (ReduceMean, Sub, Pow, Sqrt, Div)", async () => {
  await expectClose("LN decomposed", {
    x: [3, 6],
    opset: 13,
    nodes: [
      node("ReduceMean", ["x"], ["m"], { axes: [-1] }),
      node("Sub", ["x", "m"], ["d"]),
      node("Pow", ["d", "two"], ["d2"]),
      node("ReduceMean", ["d2"], ["v"], { axes: [-1] }),
      node("Add", ["v", "eps"], ["ve"]),
      node("Sqrt", ["ve"], ["sd"]),
      node("Div", ["d", "sd"], ["n"]),
      node("Mul", ["n", "s"], ["ns"]),
      node("Add", ["ns", "b"], ["y"]),
    ],
    inits: [
      floatTensor("two", [], [2]),
      floatTensor("eps", [], [1e-5]),
      randomTensor("s", [6], rng),
      randomTensor("b", [6], rng),
    ],
  });
});

Deno.test("InstanceNormalization and torch's GroupNorm export", async () => {
  await expectClose("InstanceNorm", {
    x: [3, 4, 5],
    nodes: [node("InstanceNormalization", ["x", "s", "b"], ["y"], { epsilon: 1e-5 }, {
      floatKeys: ["epsilon"],
    })],
    inits: [randomTensor("s", [3], rng), randomTensor("b", [3], rng)],
  });
  // GroupNorm(2 groups, 4 channels): Reshape [N,2,-1] -> InstanceNorm(ones, zeros) -> Reshape -> affine
  await expectClose("GroupNorm", {
    x: [4, 3, 3],
    nodes: [
      node("Reshape", ["x", "gshape"], ["g"]),
      node("InstanceNormalization", ["g", "ones", "zeros"], ["gn"], { epsilon: 1e-5 }, {
        floatKeys: ["epsilon"],
      }),
      node("Shape", ["x"], ["xs"]),
      node("Reshape", ["gn", "xs"], ["r"]),
      node("Mul", ["r", "s"], ["rs"]),
      node("Add", ["rs", "b"], ["y"]),
    ],
    inits: [
      int64Tensor("gshape", [3], [0, 2, -1]),
      floatTensor("ones", [2], [1, 1]),
      floatTensor("zeros", [2], [0, 0]),
      randomTensor("s", [4, 1, 1], rng),
      randomTensor("b", [4, 1, 1], rng),
    ],
  });
});
