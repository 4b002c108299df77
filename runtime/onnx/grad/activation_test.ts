import { assertAlmostEquals, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { floatTensor, node } from "../builder.ts";
import { buildGradientModel } from "./build.ts";
import { caseModel, expectClose, pointwiseDerivatives } from "./testing.ts";

const unary = (
  op: string,
  attrs: Record<string, number | string> = {},
  floatKeys: string[] = [],
) => [node(op, ["x"], ["y"], attrs, { floatKeys })];

Deno.test("pointwise activations match finite differences", async () => {
  for (const op of ["Relu", "Sigmoid", "Tanh", "Softplus"]) {
    await expectClose(op, { x: [3, 5], nodes: unary(op) });
  }
  await expectClose("LeakyRelu", {
    x: [3, 5],
    nodes: unary("LeakyRelu", { alpha: 0.2 }, ["alpha"]),
  });
  await expectClose("HardSigmoid", {
    x: [3, 5],
    nodes: unary("HardSigmoid", { alpha: 0.3, beta: 0.4 }, ["alpha", "beta"]),
  });
  await expectClose("HardSwish", {
    x: [3, 5],
    nodes: unary("HardSwish"),
    sample: (r) => 3 * r.normal(),
  });
  await expectClose("Clip (ReLU6 range)", {
    x: [3, 5],
    nodes: [node("Clip", ["x", "lo", "hi"], ["y"])],
    inits: [floatTensor("lo", [], [-0.5]), floatTensor("hi", [], [0.8])],
    eps: 1e-3, // kinks: keep the difference from straddling them
  });
  await expectClose("Clip min only", {
    x: [3, 5],
    nodes: [node("Clip", ["x", "lo"], ["y"])],
    inits: [floatTensor("lo", [], [0.1])],
  });
});

Deno.test("ReLU and ReLU6 masks: exactly 0 or 1 from the output, 0 on the bounds", async () => {
  const tiny = 2 ** -60; // well above 2^-64: a full pass
  const xs = [-1, -tiny, 0, tiny, 0.5, 5.999999, 6, 7, 1e30, -1e30];
  const relu = await pointwiseDerivatives(unary("Relu"), xs);
  assertEquals(relu.derivatives, [0, 0, 0, 1, 1, 1, 1, 1, 1, 0]);
  const relu6 = await pointwiseDerivatives(
    [node("Clip", ["x", "lo", "hi"], ["y"])],
    xs,
    { inits: [floatTensor("lo", [], [0]), floatTensor("hi", [], [6])] },
  );
  assertEquals(relu6.derivatives, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0]);
  // One HardSigmoid per bound, no comparison, Cast or read of the Clip's input.
  for (const { ops } of [relu, relu6]) {
    assertEquals(ops.some((o) => ["Greater", "Less", "Equal", "Cast"].includes(o)), false);
  }
  assertEquals(relu6.ops.filter((o) => o === "HardSigmoid").length, 2);
});

Deno.test("outputStepMask: Clip bounds off zero, one-sided, and out of range", async () => {
  const xs = [-3, -2.5, -2, 0, 1.25, 1.5, 2];
  const clip = (inits: ReturnType<typeof floatTensor>[], names: string[]) =>
    pointwiseDerivatives([node("Clip", ["x", ...names], ["y"])], xs, { inits });
  const both = await clip([floatTensor("lo", [], [-2.5]), floatTensor("hi", [], [1.5])], [
    "lo",
    "hi",
  ]);
  assertEquals(both.derivatives, [0, 0, 1, 1, 1, 0, 0]);
  const above = await clip([floatTensor("hi", [], [1.5])], ["", "hi"]);
  assertEquals(above.derivatives, [1, 1, 1, 1, 1, 0, 0]);
  // A bound whose 2^64 multiple overflows float32 keeps the comparison mask.
  const huge = await clip([floatTensor("lo", [], [-1e30]), floatTensor("hi", [], [1.5])], [
    "lo",
    "hi",
  ]);
  assertEquals(huge.derivatives, [1, 1, 1, 1, 1, 1, 0]);
  assertEquals(huge.ops.includes("Equal"), true);
  await expectClose("Clip max only", {
    x: [3, 5],
    nodes: [node("Clip", ["x", "", "hi"], ["y"])],
    inits: [floatTensor("hi", [], [0.3])],
    // Inputs at least 0.05 from the kink, so the differences never straddle it.
    sample: (r) => {
      const v = r.normal();
      return Math.abs(v - 0.3) < 0.05 ? v + 0.1 : v;
    },
    eps: 1e-3,
  });
});

Deno.test("HardSwish's derivative: known answers on each piece, no Not or Cast", async () => {
  // 0 below -3, x/3 + 1/2 on (-3, 3), 1 above 3.
  const xs = [-4, -2.5, -1, 0, 1.5, 2.5, 4];
  const { derivatives, ops } = await pointwiseDerivatives(unary("HardSwish"), xs);
  const want = [0, -1 / 3, 1 / 6, 0.5, 1, 4 / 3, 1];
  xs.forEach((v, i) => assertAlmostEquals(derivatives[i], want[i], 1e-6, `x=${v}`));
  assertEquals(ops.includes("Not") || ops.includes("Cast"), false);
});

Deno.test("Gelu (opset 20, exact and tanh) and com.microsoft Gelu", async () => {
  await expectClose("Gelu", { x: [7], nodes: unary("Gelu"), opset: 20 });
  await expectClose("Gelu tanh", {
    x: [7],
    nodes: unary("Gelu", { approximate: "tanh" }),
    opset: 20,
  });
  await expectClose("ms Gelu", {
    x: [7],
    nodes: [node("Gelu", ["x"], ["y"], {}, { domain: "com.microsoft" })],
    domains: [{ domain: "com.microsoft", version: 1 }],
  });
});

Deno.test("Softmax and LogSoftmax along inner and outer axes, both targets", async () => {
  for (const target of ["logit", "prob"] as const) {
    await expectClose(`Softmax -1 ${target}`, { x: [3, 4], nodes: unary("Softmax"), target });
    await expectClose(`Softmax 1 ${target}`, {
      x: [3, 4],
      nodes: unary("Softmax", { axis: 1 }),
      target,
    });
    await expectClose(`LogSoftmax ${target}`, { x: [3, 4], nodes: unary("LogSoftmax"), target });
  }
  // Opset 11 Softmax flattens [axis:] into one block: the upgrade must keep those semantics.
  await expectClose("Softmax opset 11 axis 1 on rank 3", {
    x: [3, 4],
    nodes: unary("Softmax", { axis: 1 }),
    opset: 11,
  });
});

Deno.test("an op without a rule on the gradient path is a clear error naming op and node", async () => {
  const model = await caseModel({
    x: [4],
    nodes: [node("Selu", ["x"], ["y"], {}, { name: "the_selu" })],
  });
  assertThrows(() => buildGradientModel(model, { target: "prob" }), /Selu.*the_selu/);
});

Deno.test("an unsupported op off the gradient path is ignored", async () => {
  await expectClose("TopK indices only feed a mask", {
    x: [5],
    nodes: [
      node("TopK", ["x", "k"], ["v", "i"], { axis: -1 }),
      node("ReduceMin", ["v"], ["m"], { axes: [-1], keepdims: 1 }),
      node("GreaterOrEqual", ["x", "m"], ["mask"]),
      node("Where", ["mask", "x", "zero"], ["y"]),
    ],
    inits: [
      floatTensor("zero", [], [0]),
      {
        ...floatTensor("k", [1], [0]),
        dataType: 7,
        rawData: new Uint8Array(new BigInt64Array([2n]).buffer),
      },
    ],
  });
});
