import { assert, assertEquals } from "../../../tests/assert.ts";
import { buildGradientBytes } from "../../grad_model.ts";
import { floatTensor, node } from "../builder.ts";
import { decodeModel } from "../proto.ts";
import { caseModel, expectClose, type OpCase } from "./testing.ts";

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
