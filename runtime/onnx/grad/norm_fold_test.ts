import { assertEquals } from "../../../tests/assert.ts";
import { Rng } from "../../../lib/rng.ts";
import { buildGradientBytes } from "../../grad_model.ts";
import { node } from "../builder.ts";
import { decodeModel } from "../proto.ts";
import { caseModel, expectClose, type OpCase, randomTensor } from "./testing.ts";

async function layerNorms(c: OpCase): Promise<number> {
  const m = decodeModel((await buildGradientBytes(await caseModel(c))).bytes);
  return m.graph!.node!.filter((n) => n.opType === "LayerNormalization").length;
}

const ln = (x: string, y: string) =>
  node("LayerNormalization", [x, "gamma", "beta"], [y], { axis: -1, epsilon: 1e-5 });

Deno.test("a LayerNorm feeding MatMul + bias hands its affine over and skips the recomputation", async () => {
  const rng = new Rng(11);
  for (const withShape of [false, true]) {
    const c: OpCase = {
      x: [3, 4],
      nodes: [
        ln("x", "n"),
        ...(withShape ? [node("Shape", ["n"], ["n_shape"])] : []),
        node("MatMul", ["n", "w"], ["h"]),
        node("Add", ["bias", "h"], ["y"]),
      ],
      inits: [
        randomTensor("gamma", [4], rng),
        randomTensor("beta", [4], rng),
        randomTensor("w", [4, 5], rng),
        randomTensor("bias", [5], rng),
      ],
    };
    await expectClose(`LayerNorm -> MatMul + Add (Shape user: ${withShape})`, c);
    assertEquals(await layerNorms(c), 1, "the forward LayerNormalization only");
  }
});

Deno.test("a channels-last LayerNorm feeding an unpadded Conv through a Transpose folds too", async () => {
  const rng = new Rng(12);
  for (const kernel of [1, 2]) {
    const c: OpCase = {
      x: [4, 4, 4],
      nodes: [
        node("Transpose", ["x"], ["t"], { perm: [0, 2, 3, 1] }),
        ln("t", "n"),
        node("Transpose", ["n"], ["u"], { perm: [0, 3, 1, 2] }),
        node("Conv", ["u", "w", "b"], ["y"], {
          kernel_shape: [kernel, kernel],
          strides: [kernel, kernel],
        }),
      ],
      inits: [
        randomTensor("gamma", [4], rng),
        randomTensor("beta", [4], rng),
        randomTensor("w", [3, 4, kernel, kernel], rng),
        randomTensor("b", [3], rng),
      ],
    };
    await expectClose(`LayerNorm -> Transpose -> Conv ${kernel}x${kernel}`, c);
    assertEquals(await layerNorms(c), 1);
  }
});

Deno.test("a LayerNorm whose affine cannot move keeps it and recomputes x̂ in the backward", async () => {
  const rng = new Rng(13);
  const inits = [
    randomTensor("gamma", [4], rng),
    randomTensor("beta", [4], rng),
    randomTensor("w", [3, 4, 3, 3], rng),
  ];
  // Zero padding would see β where the input is padded: not the same function.
  const padded: OpCase = {
    x: [4, 4, 4],
    nodes: [
      node("Transpose", ["x"], ["t"], { perm: [0, 2, 3, 1] }),
      ln("t", "n"),
      node("Transpose", ["n"], ["u"], { perm: [0, 3, 1, 2] }),
      node("Conv", ["u", "w"], ["y"], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
    ],
    inits,
  };
  await expectClose("LayerNorm -> Transpose -> padded Conv", padded);
  assertEquals(await layerNorms(padded), 2);
  // Two value users.
  const shared: OpCase = {
    x: [3, 4],
    nodes: [ln("x", "n"), node("MatMul", ["n", "w2"], ["h"]), node("Add", ["h", "n"], ["y"])],
    inits: [...inits.slice(0, 2), randomTensor("w2", [4, 4], rng)],
  };
  await expectClose("LayerNorm -> MatMul and Add", shared);
  assertEquals(await layerNorms(shared), 2);
});

Deno.test("parameters that reach the LayerNorm through Identity nodes (torch's shared weights) fold", async () => {
  const rng = new Rng(14);
  const c: OpCase = {
    x: [3, 4],
    nodes: [
      node("Identity", ["gamma"], ["gamma_id"]),
      node("Identity", ["w"], ["w_id"]),
      node("LayerNormalization", ["x", "gamma_id", "beta"], ["n"], { axis: -1 }),
      node("MatMul", ["n", "w_id"], ["h"]),
      node("Add", ["h", "bias"], ["y"]),
    ],
    inits: [
      randomTensor("gamma", [4], rng),
      randomTensor("beta", [4], rng),
      randomTensor("w", [4, 2], rng),
      randomTensor("bias", [2], rng),
    ],
  };
  await expectClose("LayerNorm with Identity-fed parameters", c);
  assertEquals(await layerNorms(c), 1);
});
