import { Rng } from "../../../lib/rng.ts";
import { node } from "../builder.ts";
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
