import * as ort from "onnxruntime-node";
import { assert, assertEquals } from "../../../tests/assert.ts";
import { Rng } from "../../../lib/rng.ts";
import { buildGradientBytes } from "../../grad_model.ts";
import { DType, floatTensor, makeGraph, makeModel, node, valueInfo } from "../builder.ts";
import { decodeModel, encodeModel, type NodeProto, onnxNs, type TensorProto } from "../proto.ts";
import { foldGeluHalves } from "./gelu_pattern.ts";
import { readTensor } from "./tensor.ts";
import { caseModel, expectClose, type OpCase, randomTensor } from "./testing.ts";

/** torch's export of erf-GELU, operands in either order. */
function gelu(x: string, y: string, swap = false) {
  return [
    node("Div", [x, "sqrt2"], [`${y}_a`]),
    node("Erf", [`${y}_a`], [`${y}_e`]),
    node("Add", swap ? ["one", `${y}_e`] : [`${y}_e`, "one"], [`${y}_b`]),
    node("Mul", swap ? [`${y}_b`, x] : [x, `${y}_b`], [`${y}_m`]),
    node("Mul", swap ? ["half", `${y}_m`] : [`${y}_m`, "half"], [y]),
  ];
}
const consts = [
  floatTensor("sqrt2", [], [Math.SQRT2]),
  floatTensor("one", [], [1]),
  floatTensor("half", [], [0.5]),
];

async function opsOf(c: OpCase): Promise<string[]> {
  const m = decodeModel((await buildGradientBytes(await caseModel(c))).bytes);
  return m.graph!.node!.map((n) => n.opType!);
}

Deno.test("an exported GELU is differentiated as one function, in either operand order", async () => {
  for (const swap of [false, true]) {
    const c: OpCase = {
      x: [3, 4],
      nodes: [node("Mul", ["x", "x"], ["x2"]), ...gelu("x2", "y", swap)],
      inits: consts,
    };
    await expectClose(`gelu swap=${swap}`, c);
    const ops = await opsOf(c);
    // Forward Erf plus none in backward; one Exp (φ) and no Div but the forward's.
    assertEquals(ops.filter((o) => o === "Erf").length, 1);
    assertEquals(ops.filter((o) => o === "Exp").length, 1);
    assertEquals(ops.filter((o) => o === "Div").length, 1);
  }
});

Deno.test("a GELU whose intermediates feed other nodes is differentiated node by node", async () => {
  // b = erf(a) + 1 also feeds the output: the pattern must not swallow its gradient.
  const c: OpCase = {
    x: [5],
    nodes: [...gelu("x", "g"), node("Mul", ["g", "g_b"], ["y"])],
    inits: consts,
  };
  await expectClose("gelu with a shared intermediate", c);
  const ops = await opsOf(c);
  assert(ops.filter((o) => o === "Exp").length >= 1);
  assertEquals(ops.filter((o) => o === "Div").length, 2, "forward Div and its VJP's division");

  // a = x/√2 also feeds the output: handled by Div's own rule next to the pattern.
  await expectClose("gelu with x/√2 used elsewhere", {
    x: [5],
    nodes: [...gelu("x", "g"), node("Add", ["g", "g_a"], ["y"])],
    inits: consts,
  });
});

Deno.test("a GELU feeding a Conv or MatMul hands its half to their weights, exactly", async () => {
  const rng = new Rng(3);
  const cases: { name: string; x: number[]; user: NodeProto; w: TensorProto }[] = [
    {
      name: "Conv",
      x: [4, 3, 3],
      user: node("Conv", ["g", "w", "bias"], ["y"], { kernel_shape: [1, 1] }),
      w: randomTensor("w", [5, 4, 1, 1], rng),
    },
    {
      name: "MatMul",
      x: [3, 4],
      user: node("MatMul", ["g", "w"], ["y"]),
      w: randomTensor("w", [4, 5], rng),
    },
  ];
  for (const k of cases) {
    const c: OpCase = {
      x: k.x,
      nodes: [...gelu("x", "g"), k.user],
      inits: [...consts, k.w, randomTensor("bias", [5], rng)],
    };
    await expectClose(`gelu into ${k.name}`, c);
    const built = decodeModel((await buildGradientBytes(await caseModel(c))).bytes);
    const ops = built.graph!.node!;
    assertEquals(ops.filter((n) => n.input!.includes("half")).length, 0, "no multiply by 0.5 left");
    assertEquals(ops.filter((n) => n.opType === "Exp").length, 1);

    // The forward with the half folded computes the same floats as the exported one.
    const fwd = c.nodes;
    const fold = foldGeluHalves(
      fwd,
      (n) => {
        const t = c.inits!.find((i) => i.name === n);
        return t && readTensor(t);
      },
      new Map(c.inits!.map((t) => [t.name!, t])),
      new Set(["y"]),
      (h) => `fold/${h}`,
    );
    assertEquals(fold.nodes.length, fwd.length - 1);
    const x = Float32Array.from(
      { length: 2 * k.x.reduce((a, b) => a * b, 1) },
      () => rng.normal() * 3,
    );
    const run = async (nodes: NodeProto[], inits: TensorProto[]) => {
      const m = makeModel(
        makeGraph("g", nodes, [valueInfo("x", DType.FLOAT, [2, ...k.x])], [
          onnxNs.ValueInfoProto.create({ name: "y" }),
        ], inits),
      );
      // Unoptimised: onnxruntime would fuse the exported five nodes into one Gelu kernel, which
      // the gradient graph (it keeps the intermediates) never gets.
      const s = await ort.InferenceSession.create(encodeModel(m), {
        graphOptimizationLevel: "disabled",
      });
      try {
        return (await s.run({ x: new ort.Tensor("float32", x, [2, ...k.x]) })).y
          .data as Float32Array;
      } finally {
        await s.release();
      }
    };
    const before = await run(fwd, c.inits!);
    const after = await run(fold.nodes, [...c.inits!, ...fold.initializers]);
    assertEquals(Array.from(after), Array.from(before), `${k.name}: bit-identical forward`);
  }
});

Deno.test("a GELU whose output also feeds another node keeps its half", async () => {
  const rng = new Rng(4);
  const c: OpCase = {
    x: [3, 4],
    nodes: [...gelu("x", "g"), node("MatMul", ["g", "w"], ["h"]), node("Add", ["h", "g"], ["y"])],
    inits: [...consts, randomTensor("w", [4, 4], rng)],
  };
  await expectClose("gelu into MatMul and Add", c);
  const built = decodeModel((await buildGradientBytes(await caseModel(c))).bytes);
  assertEquals(built.graph!.node!.filter((n) => n.input!.includes("half")).length, 1);
});
