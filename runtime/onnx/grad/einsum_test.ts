import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { createGradientModel } from "../../grad_model.ts";
import { readNpy } from "../../npy.ts";
import { Rng } from "../../../lib/rng.ts";
import { int64Tensor, node } from "../builder.ts";
import { buildGradientModel } from "./build.ts";
import { parseEinsum } from "./einsum.ts";
import { caseModel, expectClose, randomTensor } from "./testing.ts";

const rng = new Rng(41);

const einsum = (inputs: string[], equation: string, out = "y") =>
  node("Einsum", inputs, [out], { equation });

Deno.test("parseEinsum: explicit, implicit (ASCII order), spaces", () => {
  assertEquals(parseEinsum("BGHID,BGHJD->BGHIJ"), {
    inputs: ["BGHID", "BGHJD"],
    output: "BGHIJ",
  });
  assertEquals(parseEinsum("B G H I J, B G H J D -> B G H I D").output, "BGHID");
  assertEquals(parseEinsum("bi,ij").output, "bj");
  assertEquals(parseEinsum("ib,Ai").output, "Ab");
  assertEquals(parseEinsum("ij->"), { inputs: ["ij"], output: "" });
});

Deno.test("parseEinsum: unsupported forms name the equation", () => {
  for (
    const [eq, why] of [
      ["...ij,...jk->...ik", "ellipsis"],
      ["ii->i", "repeated index"],
      ["ij,jk->ii", "repeated index"],
      ["ij,jk->iz", `output index "z"`],
    ]
  ) {
    assertThrows(() => parseEinsum(eq), `Einsum "${eq}": `);
    assertThrows(() => parseEinsum(eq), why);
  }
});

Deno.test("Einsum: MaxViT's attention matmuls, both operands active", async () => {
  // x: [N, G=2, H=2, I=3, D=4]; q = x, k = x * w; s = q kᵀ; a = softmax(s); y = a v, v = x.
  await expectClose("BGHID,BGHJD->BGHIJ then BGHIJ,BGHJD->BGHID", {
    x: [2, 2, 3, 4],
    nodes: [
      node("Mul", ["x", "w"], ["k"]),
      einsum(["x", "k"], "BGHID,BGHJD->BGHIJ", "s"),
      node("Softmax", ["s"], ["a"], { axis: -1 }),
      einsum(["a", "x"], "BGHIJ,BGHJD->BGHID"),
    ],
    inits: [randomTensor("w", [2, 1, 3, 4], rng)],
  });
  await expectClose("as exported by torch, with spaces", {
    x: [2, 3, 4],
    nodes: [einsum(["x", "x"], "B H I D, B H J D -> B H I J")],
  });
});

Deno.test("Einsum: weights, summed-out indices of one operand, implicit output", async () => {
  await expectClose("bij,jk->bik (weight operand)", {
    x: [3, 4],
    nodes: [einsum(["x", "w"], "bij,jk->bik")],
    inits: [randomTensor("w", [4, 5], rng)],
  });
  await expectClose("bij,kj->bk (weight first in the backward)", {
    x: [3, 4],
    nodes: [einsum(["w", "x"], "kj,bij->bk")],
    inits: [randomTensor("w", [5, 4], rng)],
  });
  // i only in the first operand, k and l only in the second: both gradients are expanded.
  await expectClose("bij,bkl->bjl", {
    x: [3, 4],
    nodes: [node("Mul", ["x", "w"], ["x2"]), einsum(["x", "x2"], "bij,bkl->bjl")],
    inits: [randomTensor("w", [3, 4], rng)],
  });
  await expectClose("implicit bi,ij", {
    x: [4],
    nodes: [einsum(["x", "w"], "bi,ij")],
    inits: [randomTensor("w", [4, 3], rng)],
  });
});

Deno.test("Einsum: one and three operands", async () => {
  await expectClose("transpose bij->bji", { x: [3, 4], nodes: [einsum(["x"], "bij->bji")] });
  await expectClose("sum bij->bj", { x: [3, 4], nodes: [einsum(["x"], "bij->bj")] });
  await expectClose("bi,bj,ij->bi", {
    x: [3],
    nodes: [einsum(["x", "x", "w"], "bi,bj,ij->bi")],
    inits: [randomTensor("w", [3, 3], rng)],
  });
});

Deno.test("Einsum: an unsupported equation stops the build and names it", async () => {
  const model = await caseModel({
    x: [3, 3],
    nodes: [einsum(["x"], "bii->bi")],
  });
  assertThrows(
    () => buildGradientModel(model, { target: "logit" }),
    `Einsum "bii->bi": the repeated index in "bii" is not supported`,
  );
});

Deno.test("Einsum: an operand's extent of 1 broadcast against the other's", async () => {
  // a is [N, 3, 1]: its j axis broadcasts against x's [N, 3, 4], so its gradient sums over j.
  await expectClose("bij,bkj->bik, j broadcast", {
    x: [3, 4],
    nodes: [
      node("ReduceSum", ["x", "axis2"], ["a"], { keepdims: 1 }),
      einsum(["a", "x"], "bij,bkj->bik"),
    ],
    inits: [int64Tensor("axis2", [1], [2])],
  });
});

const MAXVIT = new URL("../../../tests/fixtures/maxvit-tiny/", import.meta.url).pathname;

Deno.test("tiny MaxViT (torchvision's, 4 Einsums): gradients match PyTorch autograd", async () => {
  const [x, cls, prob, gp, gl] = await Promise.all(
    ["x", "cls", "prob", "grad_prob", "grad_logit"].map((f) => readNpy(`${MAXVIT}${f}.npy`)),
  );
  const n = x.shape[0];
  const classes = Int32Array.from(cls.data as BigInt64Array, Number);
  for (const [target, ref] of [["prob", gp], ["logit", gl]] as const) {
    const gm = await createGradientModel(`${MAXVIT}model.onnx`, { target });
    try {
      const out = await gm.probsAndGrad(x.data as Float32Array, n, classes);
      const r = ref.data as Float32Array;
      let dot = 0, aa = 0, bb = 0, diff = 0, scale = 0;
      for (let i = 0; i < r.length; i++) {
        dot += out.grad[i] * r[i];
        aa += out.grad[i] ** 2;
        bb += r[i] ** 2;
        diff = Math.max(diff, Math.abs(out.grad[i] - r[i]));
        scale = Math.max(scale, Math.abs(r[i]));
      }
      const cosine = dot / Math.sqrt(aa * bb);
      assert(cosine > 0.99999, `${target}: cosine ${cosine}`);
      assert(diff / scale < 1e-4, `${target}: gradient differs by ${diff / scale} of max |grad|`);
      for (let i = 0; i < n; i++) {
        assertAlmostEquals(out.probs[i], (prob.data as Float32Array)[i], 1e-5, `${target} prob`);
      }
    } finally {
      await gm.release();
    }
  }
});
