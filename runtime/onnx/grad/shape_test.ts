import { Rng } from "../../../lib/rng.ts";
import { assert, assertEquals } from "../../../tests/assert.ts";
import { buildGradientBytes } from "../../grad_model.ts";
import { floatTensor, int64Tensor, node } from "../builder.ts";
import { decodeModel } from "../proto.ts";
import { caseModel, expectClose, randomTensor } from "./testing.ts";

const rng = new Rng(51);
const ints = int64Tensor;

Deno.test("Reshape, Flatten, Squeeze/Unsqueeze (input and opset-11 attr forms), Transpose", async () => {
  await expectClose("reshape chain", {
    x: [2, 3, 4],
    nodes: [
      node("Reshape", ["x", "s"], ["a"]),
      node("Transpose", ["a"], ["b"], { perm: [0, 2, 1] }),
      node("Unsqueeze", ["b", "ax"], ["c"]),
      node("Squeeze", ["c", "ax"], ["d"]),
      node("Flatten", ["d"], ["e"], { axis: 1 }),
      node("Mul", ["e", "e"], ["y"]),
    ],
    inits: [ints("s", [3], [0, 6, 4]), ints("ax", [1], [1])],
  });
  await expectClose("opset 11 squeeze/unsqueeze", {
    x: [3, 4],
    opset: 11,
    nodes: [
      node("Unsqueeze", ["x"], ["u"], { axes: [1] }),
      node("Squeeze", ["u"], ["s"], { axes: [1] }),
      node("Transpose", ["s"], ["t"], { perm: [0, 2, 1] }),
      node("Mul", ["t", "t"], ["y"]),
    ],
  });
});

Deno.test("Concat, Split (sizes as input and attr), Expand, Dropout, Identity", async () => {
  await expectClose("concat + split", {
    x: [5, 2],
    nodes: [
      node("Mul", ["x", "x"], ["sq"]),
      node("Concat", ["x", "sq", "x"], ["c"], { axis: 1 }),
      node("Split", ["c", "sizes"], ["p", "q", "r"], { axis: 1 }), // q unused
      node("Mul", ["p", "p"], ["pp"]),
      node("Exp", ["r"], ["er"]),
      node("Concat", ["pp", "er"], ["d"], { axis: 1 }),
      node("Dropout", ["d"], ["e"]),
      node("Identity", ["e"], ["y"]),
    ],
    inits: [ints("sizes", [3], [4, 6, 5])],
  });
  await expectClose("split opset 11 with unused output", {
    x: [6],
    opset: 11,
    nodes: [
      node("Split", ["x"], ["a", "b"], { axis: 1, split: [2, 4] }),
      node("Exp", ["b"], ["y"]),
    ],
  });
  await expectClose("expand", {
    x: [3, 1],
    nodes: [node("Expand", ["x", "shape"], ["e"]), node("Mul", ["e", "w"], ["y"])],
    inits: [ints("shape", [3], [1, 3, 4]), randomTensor("w", [3, 4], rng)],
  });
});

Deno.test("Slice (constant unit steps, steps 2, negative steps, runtime ends) and Gather", async () => {
  await expectClose("slice unit", {
    x: [5, 6],
    nodes: [node("Slice", ["x", "st", "en", "ax"], ["y"])],
    inits: [ints("st", [2], [1, -4]), ints("en", [2], [4, 100]), ints("ax", [2], [1, 2])],
  });
  await expectClose("slice step 2 (patch merging)", {
    x: [5, 6],
    nodes: [node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])],
    inits: [
      ints("st", [2], [0, 1]),
      ints("en", [2], [5, 6]),
      ints("ax", [2], [1, 2]),
      ints("sp", [2], [2, 2]),
    ],
  });
  await expectClose("slice negative step", {
    x: [7],
    nodes: [node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])],
    inits: [
      ints("st", [1], [-1]),
      ints("en", [1], [-100]),
      ints("ax", [1], [1]),
      ints("sp", [1], [-2]),
    ],
  });
  await expectClose("slice with runtime end", {
    x: [6],
    nodes: [
      node("Shape", ["x"], ["s"]),
      node("Gather", ["s", "one"], ["n"], { axis: 0 }),
      node("Div", ["n", "two"], ["h"]),
      node("Slice", ["x", "zero", "h", "one"], ["y"]),
    ],
    inits: [ints("one", [1], [1]), ints("two", [1], [2]), ints("zero", [1], [0])],
  });
  await expectClose("gather scalar (class token)", {
    x: [4, 3],
    nodes: [node("Gather", ["x", "i"], ["y"], { axis: 1 })],
    inits: [ints("i", [], [0])],
  });
  await expectClose("gather repeated indices", {
    x: [4, 3],
    nodes: [node("Gather", ["x", "idx"], ["y"], { axis: 2 })],
    inits: [ints("idx", [2, 2], [0, 2, 2, -1])],
  });
});

Deno.test("Pad in every mode, Where with a mask, ScatterND", async () => {
  for (const mode of ["constant", "reflect", "edge"]) {
    await expectClose(`pad ${mode}`, {
      x: [2, 4, 5],
      nodes: [node("Pad", ["x", "pads"], ["y"], { mode })],
      inits: [ints("pads", [8], [0, 0, 1, 2, 0, 1, 2, -1])],
    });
  }
  await expectClose("pad constant value", {
    x: [3],
    nodes: [node("Pad", ["x", "pads", "v"], ["y"])],
    inits: [ints("pads", [4], [0, 1, 0, 2]), floatTensor("v", [], [0.5])],
  });
  await expectClose("scatterND into active data with active updates", {
    x: [4, 3],
    nodes: [
      node("Transpose", ["x"], ["data"], { perm: [1, 2, 0] }), // [4, 3, N]
      node("Slice", ["x", "s0", "s1", "ax"], ["u"]), // [N, 2, 3]
      node("Transpose", ["u"], ["ut"], { perm: [1, 2, 0] }),
      node("Mul", ["ut", "ut"], ["upd"]),
      node("ScatterND", ["data", "idx", "upd"], ["z"]),
      node("Transpose", ["z"], ["y"], { perm: [2, 0, 1] }),
    ],
    inits: [
      ints("s0", [1], [0]),
      ints("s1", [1], [2]),
      ints("ax", [1], [1]),
      ints("idx", [2, 1], [3, 0]),
    ],
  });
});

Deno.test("gathers and slices that tile their source get one Concat, not padded pieces summed", async () => {
  // qkv as in a ViT block: x [B, 3, 4, 5] -> q, k, v = x[:, 0], x[:, 1], x[:, 2].
  const attention = [
    node("Gather", ["x", "i0"], ["q"], { axis: 1 }),
    node("Gather", ["x", "i1"], ["k"], { axis: 1 }),
    node("Gather", ["x", "i2"], ["v"], { axis: 1 }),
    node("Mul", ["q", "k"], ["qk"]),
    node("Add", ["qk", "v"], ["y"]),
  ];
  const idx = [ints("i0", [], [0]), ints("i1", [], [1]), ints("i2", [], [-1])];
  await expectClose("q, k, v gathers", { x: [3, 4, 5], nodes: attention, inits: idx });
  const ops = async (nodes: typeof attention, inits: typeof idx, x: number[]) => {
    const m = decodeModel((await buildGradientBytes(await caseModel({ x, nodes, inits }))).bytes);
    return m.graph!.node!.map((n) => n.opType!);
  };
  const tiledOps = await ops(attention, idx, [3, 4, 5]);
  assertEquals(tiledOps.filter((o) => o === "Pad").length, 0, "no padded pieces");
  assert(tiledOps.includes("Concat"));

  // Two unit-step slices that cover the axis, [0, 2) and [2, 5).
  const halves = [
    node("Slice", ["x", "s0", "e0", "ax"], ["a"]),
    node("Slice", ["x", "s1", "e1", "ax"], ["b"]),
    node("Mul", ["a", "a"], ["a2"]),
    node("ReduceSum", ["b", "ax"], ["bs"], { keepdims: 1 }),
    node("Mul", ["a2", "bs"], ["y"]),
  ];
  const cuts = [
    ints("s0", [1], [0]),
    ints("e0", [1], [2]),
    ints("s1", [1], [2]),
    ints("e1", [1], [5]),
    ints("ax", [1], [2]),
  ];
  await expectClose("slices that tile", { x: [4, 5], nodes: halves, inits: cuts });
  assertEquals((await ops(halves, cuts, [4, 5])).filter((o) => o === "Pad").length, 0);

  // q and k only: the pieces do not cover the axis, so they stay padded and summed.
  const partial = attention.slice(0, 2).concat(node("Mul", ["q", "k"], ["y"]));
  await expectClose("q, k only", { x: [3, 4, 5], nodes: partial, inits: idx.slice(0, 2) });
  const partialOps = await ops(partial, idx.slice(0, 2), [3, 4, 5]);
  assertEquals(partialOps.filter((o) => o === "Pad").length, 2);
  assert(partialOps.includes("Sum"));
});
