import { assertEquals } from "../../../tests/assert.ts";
import { decodeModel } from "../proto.ts";
import { buildGradientBytes } from "../../grad_model.ts";
import { int64Tensor, node } from "../builder.ts";
import type { ShapeMap } from "./context.ts";
import { foldShapeValues } from "./shape_fold.ts";
import { caseModel, expectClose, type OpCase } from "./testing.ts";
import type { ConstValue } from "./tensor.ts";

const i64 = (v: number[], dims = [v.length]): ConstValue => ({
  dims,
  dataType: 7,
  data: Float64Array.from(v),
});

/** torch's export of x.chunk(2, dim=1) for the first half: Shape → Gather → Add → Div → Mul. */
const chunk = [
  node("Shape", ["x"], ["shape"]),
  node("Gather", ["shape", "one"], ["c"], { axis: 0 }),
  node("Add", ["c", "one"], ["c1"]),
  node("Div", ["c1", "two"], ["half"]),
  node("Mul", ["half", "one"], ["end"]),
  node("Unsqueeze", ["end", "zero1"], ["ends"]),
];

Deno.test("foldShapeValues computes chunk bounds from static dims, not batch-dependent ones", () => {
  const shapes: ShapeMap = new Map([["x", ["N*1", 6, 4]], ["end", []], ["ends", [1]]]);
  const consts = new Map([
    ["one", i64([1], [])],
    ["two", i64([2], [])],
    ["zero1", i64([0])],
  ]);
  const nodes = [...chunk, node("Gather", ["shape", "zero1"], ["n"], { axis: 0 })];
  const v = foldShapeValues(nodes, shapes, consts);
  assertEquals(Array.from(v.get("c1")!.data), [7]);
  assertEquals(Array.from(v.get("half")!.data), [3], "integer division truncates");
  assertEquals(v.get("end")!.dims, []);
  assertEquals(Array.from(v.get("ends")!.data), [3]);
  assertEquals(v.get("ends")!.dims, [1]);
  assertEquals(v.has("shape"), false, "the batch dim is unknown");
  assertEquals(v.has("n"), false);
  assertEquals(v.has("one"), false, "constants stay where they are");
});

Deno.test("a Slice with computed bounds takes the Pad route and matches finite differences", async () => {
  const c: OpCase = {
    x: [6, 4],
    nodes: [
      ...chunk,
      node("Slice", ["x", "ends", "six", "one1"], ["b"]),
      node("Slice", ["x", "zero1", "ends", "one1"], ["a"]),
      node("Mul", ["a", "b"], ["y"]),
    ],
    inits: [
      int64Tensor("one", [], [1]),
      int64Tensor("two", [], [2]),
      int64Tensor("zero1", [1], [0]),
      int64Tensor("one1", [1], [1]),
      int64Tensor("six", [1], [6]),
    ],
  };
  await expectClose("chunked product", c);
  const ops = decodeModel((await buildGradientBytes(await caseModel(c))).bytes).graph!.node!
    .map((n) => n.opType);
  assertEquals(ops.includes("ScatterElements"), false);
  // Two Pads or their tiling Concat.
  assertEquals(ops.includes("Pad") || ops.includes("Concat"), true);
});
