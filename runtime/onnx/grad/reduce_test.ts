import { int64Tensor, node } from "../builder.ts";
import { expectClose } from "./testing.ts";

Deno.test("ReduceSum/ReduceMean: keepdims both ways, negative axes, all axes, opset 18 inputs", async () => {
  await expectClose("ReduceMean keep", {
    x: [3, 4, 5],
    nodes: [node("ReduceMean", ["x"], ["y"], { axes: [2, 3], keepdims: 1 })],
  });
  await expectClose("ReduceMean drop neg", {
    x: [3, 4, 5],
    nodes: [node("ReduceMean", ["x"], ["y"], { axes: [-2], keepdims: 0 })],
  });
  await expectClose("ReduceSum input axes", {
    x: [3, 4],
    nodes: [node("ReduceSum", ["x", "ax"], ["y"], { keepdims: 0 })],
    inits: [int64Tensor("ax", [1], [1])],
  });
  await expectClose("ReduceSum all axes then scale", {
    x: [3, 4],
    nodes: [node("ReduceSum", ["x"], ["s"], { keepdims: 1 }), node("Mul", ["x", "s"], ["y"])],
  });
  await expectClose("ReduceMean opset 18", {
    x: [3, 4],
    opset: 18,
    nodes: [node("ReduceMean", ["x", "ax"], ["y"], { keepdims: 0 })],
    inits: [int64Tensor("ax", [1], [-1])],
  });
  await expectClose("ReduceSum opset 11 attr", {
    x: [3, 4],
    opset: 11,
    nodes: [node("ReduceSum", ["x"], ["y"], { axes: [1], keepdims: 0 })],
  });
});
