import * as ort from "onnxruntime-node";
import { Rng } from "../../../lib/rng.ts";
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { buildGradientBytes, probeShapes } from "../../grad_model.ts";
import { DType, floatTensor, makeGraph, makeModel, node, valueInfo } from "../builder.ts";
import { encodeModel } from "../proto.ts";
import { buildGradientModel } from "./build.ts";
import { checkOp, randomTensor } from "./testing.ts";

const rng = new Rng(61);

/** x[N,4] -> tanh(x W1) (+ residual through ReduceMean) -> logits [N,3]. */
function tinyModel() {
  const g = makeGraph(
    "tiny",
    [
      node("MatMul", ["x", "w1"], ["h"]),
      node("Tanh", ["h"], ["t"]),
      node("ReduceMean", ["t"], ["m"], { axes: [1], keepdims: 1 }),
      node("Sub", ["t", "m"], ["c"]),
      node("MatMul", ["c", "w2"], ["logits"]),
      node("Relu", ["t"], ["side"]),
    ],
    [valueInfo("x", DType.FLOAT, ["n", 4])],
    [valueInfo("logits", DType.FLOAT, ["n", 3]), valueInfo("side", DType.FLOAT, ["n", 5])],
    [randomTensor("w1", [4, 5], rng), randomTensor("w2", [5, 3], rng)],
  );
  return makeModel(g, 13);
}

async function run(bytes: Uint8Array, x: Float32Array, n: number, cls: number[]) {
  const s = await ort.InferenceSession.create(bytes);
  const out = await s.run({
    input: new ort.Tensor("float32", x, [n, 4]),
    cls: new ort.Tensor("int64", BigInt64Array.from(cls, BigInt), [n]),
  });
  await s.release();
  return { probs: out.probs.data as Float32Array, grad: out.grad.data as Float32Array };
}

Deno.test("probs are the softmax of the logits; rows are independent at any batch size", async () => {
  const model = tinyModel();
  const { bytes } = await buildGradientBytes(model, { target: "prob" });
  const x = Float32Array.from({ length: 12 }, () => rng.normal());
  const all = await run(bytes, x, 3, [0, 2, 1]);
  const fwd = await ort.InferenceSession.create(encodeModel(model));
  const l = (await fwd.run({ x: new ort.Tensor("float32", x, [3, 4]) })).logits
    .data as Float32Array;
  await fwd.release();
  for (let i = 0; i < 3; i++) {
    const z = [0, 1, 2].reduce((s, c) => s + Math.exp(l[i * 3 + c]), 0);
    for (let c = 0; c < 3; c++) {
      assertAlmostEquals(all.probs[i * 3 + c], Math.exp(l[i * 3 + c]) / z, 1e-6);
    }
  }
  // Row 1 alone gives the same gradient as inside the batch.
  const one = await run(bytes, x.slice(4, 8), 1, [2]);
  for (let k = 0; k < 4; k++) assertAlmostEquals(one.grad[k], all.grad[4 + k], 1e-6);
});

Deno.test("weights stay the same TensorProto objects; unused outputs are pruned", () => {
  const model = tinyModel();
  const built = buildGradientModel(model, { target: "logit" });
  const w1 = model.graph!.initializer!.find((t) => t.name === "w1");
  assert(built.graph!.initializer!.includes(w1!), "w1 must be reused, not copied");
  assert(!built.graph!.node!.some((n) => n.output!.includes("side")), "side branch pruned");
  assertEquals(built.graph!.input!.map((v) => v.name), ["input", "cls"]);
  assertEquals(built.graph!.output!.map((v) => v.name), ["probs", "grad"]);
});

Deno.test("without shapes, broadcasting gradients are reduced at run time", async () => {
  const model = tinyModel();
  const shapes = await probeShapes(model);
  const withShapes = encodeModel(buildGradientModel(model, { target: "prob", shapes }));
  const without = encodeModel(buildGradientModel(model, { target: "prob" }));
  const x = Float32Array.from({ length: 8 }, () => rng.normal());
  const a = await run(withShapes, x, 2, [1, 0]);
  const b = await run(without, x, 2, [1, 0]);
  for (let k = 0; k < 8; k++) assertAlmostEquals(a.grad[k], b.grad[k], 1e-6);
});

Deno.test("the prob target matches finite differences through a whole small network", async () => {
  const r = await checkOp({
    x: [2, 6, 6],
    target: "prob",
    nodes: [
      node("Conv", ["x", "w"], ["c"], { pads: [1, 1, 1, 1], strides: [2, 2] }),
      node("BatchNormalization", ["c", "s", "b", "m", "v"], ["bn"]),
      node("Relu", ["bn"], ["r"]),
      node("MaxPool", ["r"], ["p"], { kernel_shape: [2, 2], strides: [1, 1] }),
      node("GlobalAveragePool", ["p"], ["gp"]),
      node("Flatten", ["gp"], ["f"]),
      node("Gemm", ["f", "fc"], ["y"], { transB: 1 }),
    ],
    inits: [
      randomTensor("w", [4, 2, 3, 3], rng),
      randomTensor("s", [4], rng),
      randomTensor("b", [4], rng),
      randomTensor("m", [4], rng),
      floatTensor("v", [4], [1, 2, 0.5, 1.5]),
      randomTensor("fc", [5, 4], rng),
    ],
    eps: 3e-3,
  });
  assert(r.worst < 3e-3, `relative error ${r.worst}`);
});

Deno.test("bad inputs are clear errors", () => {
  const model = tinyModel();
  assertThrows(() => buildGradientModel(model, { target: "prob", inputName: "nope" }), /"nope"/);
  assertThrows(() => buildGradientModel(model, { target: "prob", outputName: "h" }), /"h"/);
  const g = makeGraph(
    "const",
    [node("Shape", ["x"], ["s"]), node("Cast", ["s"], ["y"], { to: 1 })],
    [valueInfo("x", DType.FLOAT, ["n", 2])],
    [valueInfo("y", DType.FLOAT, [2])],
  );
  assertThrows(() => buildGradientModel(makeModel(g), { target: "logit" }), /does not depend/);
});
