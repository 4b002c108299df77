import { assertAlmostEquals, assertEquals } from "../../../tests/assert.ts";
import { node } from "../builder.ts";
import { findSiluPatterns } from "./silu_pattern.ts";
import { expectClose, pointwiseDerivatives } from "./testing.ts";

/** torch's export of SiLU, operands in either order. */
const silu = (x: string, y: string, swap = false) => [
  node("Sigmoid", [x], [`${y}_s`]),
  node("Mul", swap ? [`${y}_s`, x] : [x, `${y}_s`], [y]),
];

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
/** d/dx x·σ(x) = σ(x)·(1 + x·(1 − σ(x))), in float64. */
const siluDerivative = (v: number) => sigmoid(v) * (1 + v * (1 - sigmoid(v)));

Deno.test("SiLU's derivative: known answers at 0, ±2, 5 and -30, both layouts", async () => {
  const xs = [0, 2, -2, 5, -30];
  // Rank 4 (σ(-x) as a depthwise Conv) and rank 2 (σ(Neg x)).
  for (const trailing of [[1, 1], []]) {
    const { derivatives, ops } = await pointwiseDerivatives(silu("x", "y"), xs, { trailing });
    xs.forEach((v, i) => assertAlmostEquals(derivatives[i], siluDerivative(v), 1e-6, `x=${v}`));
    assertEquals(derivatives[0], 0.5);
    // The forward Sigmoid plus one for σ(-x); no Sub and no Sum of two gradient paths.
    assertEquals(ops.filter((o) => o === "Sigmoid").length, 2);
    assertEquals(ops.filter((o) => o === "Sub" || o === "Sum").length, 0);
    assertEquals(ops.includes("Conv"), trailing.length === 2);
  }
});

Deno.test("SiLU as a pattern matches finite differences, in either operand order", async () => {
  for (const swap of [false, true]) {
    await expectClose(`silu swap=${swap}`, { x: [4, 3, 3], nodes: silu("x", "y", swap) });
  }
});

Deno.test("findSiluPatterns skips a Sigmoid with other consumers and x·σ(z) with z ≠ x", () => {
  const shared = [...silu("x", "a"), node("Add", ["a", "a_s"], ["y"])];
  assertEquals(findSiluPatterns(shared, new Set()).size, 0);
  const gate = [node("Sigmoid", ["z"], ["s"]), node("Mul", ["x", "s"], ["y"])];
  assertEquals(findSiluPatterns(gate, new Set()).size, 0);
  assertEquals(findSiluPatterns(silu("x", "y"), new Set(["y_s"])).size, 0, "s is an output");
  const found = findSiluPatterns(silu("x", "y", true), new Set());
  assertEquals([...found.values()], [{ x: "x", s: "y_s", y: "y" }]);
});

Deno.test("a SiLU whose Sigmoid feeds another node is differentiated node by node", async () => {
  await expectClose("silu, shared sigmoid", {
    x: [5],
    nodes: [...silu("x", "a"), node("Add", ["a", "a_s"], ["y"])],
  });
});
