import { assertEquals } from "../../../tests/assert.ts";
import { decodeModel } from "../proto.ts";
import { buildGradientBytes } from "../../grad_model.ts";
import { int64Tensor, node } from "../builder.ts";
import type { ShapeMap } from "./context.ts";
import { constantShapeInputs, foldShapeValues } from "./shape_fold.ts";
import { caseModel, expectClose, type OpCase } from "./testing.ts";
import { type ConstValue, readTensor } from "./tensor.ts";

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

/**
 * torch's export of ShuffleNetV2's channel shuffle of x [N, 4, 2, 2] into `out`: the batch dim read
 * at run time (Shape → Gather → Unsqueeze → Concat) in both Reshape targets.
 */
const shuffle = (out: string) => [
  node("Shape", ["x"], ["xs"]),
  node("Gather", ["xs", "zero"], ["n"], { axis: 0 }),
  node("Unsqueeze", ["n", "zero1"], ["n1"]),
  node("Concat", ["n1", "split"], ["s5"], { axis: 0 }),
  node("Reshape", ["x", "s5"], ["x5"]),
  node("Transpose", ["x5"], ["t5"], { perm: [0, 2, 1, 3, 4] }),
  node("Concat", ["n1", "tail"], ["s4"], { axis: 0 }),
  node("Reshape", ["t5", "s4"], [out]),
];
const shuffleInits = [
  int64Tensor("zero", [], [0]),
  int64Tensor("zero1", [1], [0]),
  int64Tensor("split", [4], [2, 2, 2, 2]),
  int64Tensor("tail", [3], [-1, 2, 2]),
];

Deno.test("constantShapeInputs: batch-dependent Reshape targets become constants with 0", () => {
  const shapes: ShapeMap = new Map([
    ["x", ["N*1", 4, 2, 2]],
    ["x5", ["N*1", 2, 2, 2, 2]],
    ["t5", ["N*1", 2, 2, 2, 2]],
    ["y", ["N*1", 4, 2, 2]],
  ]);
  const consts = new Map(shuffleInits.map((t) => [t.name!, readTensor(t)]));
  let k = 0;
  const nodes = shuffle("y");
  const out = constantShapeInputs(
    nodes,
    foldShapeValues(nodes, shapes, consts),
    consts,
    shapes,
    (hint) => `${hint}_${k++}`,
  );
  const target = (name: string) => {
    const r = out.nodes.find((n) => n.output![0] === name)!;
    const t = out.initializers.find((i) => i.name === r.input![1]);
    return t ? Array.from(readTensor(t).data) : r.input![1];
  };
  assertEquals(target("x5"), [0, 2, 2, 2, 2]);
  assertEquals(target("y"), [0, 4, 2, 2]);
  // The nodes computing the old targets are left in place (pruning drops them later).
  assertEquals(out.nodes.length, nodes.length);
  // A Reshape back to another tensor's Shape (GroupNorm's) is left alone.
  const back = [node("Shape", ["x"], ["xs"]), node("Reshape", ["t", "xs"], ["y"])];
  const same: ShapeMap = new Map([...shapes, ["t", ["N*1", 2, 8]]]);
  assertEquals(
    constantShapeInputs(back, new Map(), consts, same, (h) => h).nodes[1].input![1],
    "xs",
  );
  // A target whose batch dim moves, or is not proportional to the batch, is left alone.
  for (
    const [y, x] of [[[4, "N*1", 2, 2], shapes.get("x")!], [["N?1", 4, 2, 2], ["N?1", 4, 2, 2]]]
  ) {
    const other: ShapeMap = new Map([...shapes, ["y", y], ["x", x]]);
    const kept = constantShapeInputs(nodes, new Map(), consts, other, (h) => h);
    assertEquals(kept.nodes.find((n) => n.output![0] === "y")!.input![1], "s4");
  }
});

Deno.test("channel shuffle and chunk: no forward shape arithmetic left in the gradient graph", async () => {
  const c: OpCase = {
    x: [4, 2, 2],
    nodes: [
      ...shuffle("sh"),
      ...chunk.map((n) => ({ ...n, input: n.input!.map((i) => (i === "x" ? "sh" : i)) })),
      node("Slice", ["sh", "zero1", "ends", "one1"], ["a"]),
      node("Slice", ["sh", "ends", "four", "one1"], ["b"]),
      node("Mul", ["a", "b"], ["y"]),
    ],
    inits: [
      ...shuffleInits,
      int64Tensor("one", [], [1]),
      int64Tensor("two", [], [2]),
      int64Tensor("one1", [1], [1]),
      int64Tensor("four", [1], [4]),
    ],
  };
  // Batch 1 and 3: the constant targets copy the batch dim at run time.
  for (const batch of [1, 3]) await expectClose(`shuffle + chunk, batch ${batch}`, { ...c, batch });
  const built = decodeModel((await buildGradientBytes(await caseModel(c))).bytes).graph!.node!;
  const outputs = new Set(built.flatMap((n) => n.output!));
  for (const t of ["xs", "n", "n1", "s5", "s4", "shape", "c", "c1", "half", "end", "ends"]) {
    assertEquals(outputs.has(t), false, `forward shape value ${t} is still computed`);
  }
  assertEquals(built.some((n) => n.opType === "ScatterElements"), false);
});
