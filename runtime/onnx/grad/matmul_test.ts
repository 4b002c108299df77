import * as ort from "onnxruntime-node";
import { assertAlmostEquals, assertEquals } from "../../../tests/assert.ts";
import { Rng } from "../../../lib/rng.ts";
import { buildGradientBytes } from "../../grad_model.ts";
import { DType, floatTensor, makeGraph, makeModel, node, valueInfo } from "../builder.ts";
import { decodeModel } from "../proto.ts";
import { readTensor } from "./tensor.ts";
import { expectClose, randomTensor } from "./testing.ts";
import { int64Tensor } from "../builder.ts";

const rng = new Rng(31);

Deno.test("MatMul: weights, batched with broadcast, both operands active (attention-like)", async () => {
  await expectClose("x @ W", {
    x: [3, 4],
    nodes: [node("MatMul", ["x", "w"], ["y"])],
    inits: [randomTensor("w", [4, 5], rng)],
  });
  await expectClose("W(broadcast batch) @ x", {
    x: [2, 4, 3],
    nodes: [node("MatMul", ["w", "x"], ["y"])],
    inits: [randomTensor("w", [1, 5, 4], rng)],
  });
  await expectClose("x @ vector", {
    x: [3, 4],
    nodes: [node("MatMul", ["x", "v"], ["y"])],
    inits: [randomTensor("v", [4], rng)],
  });
  // q = x Wq, k = x Wk (rank 4 heads), s = softmax(q k^T) v
  await expectClose("attention", {
    x: [5, 4],
    nodes: [
      node("MatMul", ["x", "wq"], ["q0"]),
      node("MatMul", ["x", "wk"], ["k0"]),
      node("Reshape", ["q0", "hs"], ["q1"]),
      node("Reshape", ["k0", "hs"], ["k1"]),
      node("Transpose", ["q1"], ["q"], { perm: [0, 2, 1, 3] }),
      node("Transpose", ["k1"], ["k"], { perm: [0, 2, 3, 1] }),
      node("MatMul", ["q", "k"], ["s"]),
      node("Softmax", ["s"], ["a"], { axis: -1 }),
      node("Transpose", ["x"], ["xt"], { perm: [0, 1, 2] }),
      node("Unsqueeze", ["xt", "one"], ["v"]),
      node("MatMul", ["a", "v"], ["y"]),
    ],
    inits: [
      randomTensor("wq", [4, 4], rng),
      randomTensor("wk", [4, 4], rng),
      int64Tensor("hs", [4], [0, 5, 2, 2]),
      int64Tensor("one", [1], [1]),
    ],
  });
});

Deno.test("Gemm: every transA/transB combination, alpha, beta, active C", async () => {
  for (const transA of [0, 1]) {
    for (const transB of [0, 1]) {
      await expectClose(`Gemm tA=${transA} tB=${transB}`, {
        x: [4],
        nodes: [
          node(transA ? "Transpose" : "Identity", ["x"], ["a"]),
          node("Gemm", ["a", "b", "c"], ["y"], { transA, transB, alpha: 0.7, beta: 1.3 }, {
            floatKeys: ["alpha", "beta"],
          }),
        ],
        inits: [randomTensor("b", transB ? [3, 4] : [4, 3], rng), randomTensor("c", [3], rng)],
      });
    }
  }
  await expectClose("Gemm with active B and C", {
    x: [3],
    nodes: [
      node("Gemm", ["x", "w", "x"], ["p"], { transB: 1 }),
      node("Gemm", ["w2", "p"], ["q"], { transB: 1 }), // active B: [2, N]
      node("Transpose", ["q"], ["y"]),
    ],
    inits: [randomTensor("w", [3, 3], rng), randomTensor("w2", [2, 3], rng)],
  });
});

Deno.test("Gemm with constant B (transB 1): the gradient is alpha·B's row, from a transposed copy", async () => {
  // logits = 2·x·Wᵀ, W [3, 2]: d logit_k / d x = 2·W[k, :].
  const w = [1, -2, 0.5, 4, -3, 0.25];
  const model = makeModel(
    makeGraph(
      "linear",
      [node("Gemm", ["x", "w"], ["logits"], { transB: 1, alpha: 2 }, { floatKeys: ["alpha"] })],
      [valueInfo("x", DType.FLOAT, ["batch", 2])],
      [valueInfo("logits", DType.FLOAT, ["batch", 3])],
      [floatTensor("w", [3, 2], w)],
    ),
  );
  const { bytes } = await buildGradientBytes(model, { target: "logit" });
  const built = decodeModel(bytes).graph!;
  const gemms = built.node!.filter((n) => n.opType === "Gemm" && n.input![1] !== "w");
  assertEquals(gemms.length, 1);
  const tb = gemms[0].attribute!.find((a) => a.name === "transB");
  assertEquals(Number(tb?.i), 1, "the backward Gemm reads B in the forward's layout");
  const copy = readTensor(built.initializer!.find((t) => t.name === gemms[0].input![1])!);
  assertEquals(copy.dims, [2, 3]);
  assertEquals(Array.from(copy.data), [1, 0.5, -3, -2, 4, 0.25]);
  const s = await ort.InferenceSession.create(bytes);
  try {
    const out = await s.run({
      input: new ort.Tensor("float32", Float32Array.of(0.3, -1, 0.3, -1, 0.3, -1), [3, 2]),
      cls: new ort.Tensor("int64", BigInt64Array.of(0n, 1n, 2n), [3]),
    });
    const g = out.grad.data as Float32Array;
    for (let k = 0; k < 3; k++) {
      for (let j = 0; j < 2; j++) assertAlmostEquals(g[k * 2 + j], 2 * w[k * 2 + j], 1e-6);
    }
  } finally {
    await s.release();
  }
});
