import { Rng } from "../../../lib/rng.ts";
import { floatTensor, int64Tensor, node } from "../builder.ts";
import { expectClose, randomTensor } from "./testing.ts";

const rng = new Rng(11);
Deno.test("Add/Sub/Mul/Div with a broadcast weight and two active broadcast operands", async () => {
  await expectClose("Add bias", {
    x: [3, 4],
    nodes: [node("Add", ["x", "w"], ["y"])],
    inits: [randomTensor("w", [4], rng)],
  });
  // b = mean over the last axis, [N,3,1]: both operands active, b broadcast.
  const mean = node("ReduceMean", ["x"], ["m"], { axes: [2], keepdims: 1 });
  for (const op of ["Add", "Sub", "Mul", "Div"]) {
    await expectClose(`${op} broadcast`, {
      x: [3, 4],
      nodes: op === "Div"
        ? [mean, node("Exp", ["m"], ["e"]), node("Div", ["x", "e"], ["y"])]
        : [mean, node(op, ["m", "x"], ["y"])],
    });
  }
  // Rank broadcast: an active [4] operand against [N,3,4].
  await expectClose("Mul rank broadcast", {
    x: [3, 4],
    nodes: [
      node("ReduceSum", ["x", "ax"], ["s"], { keepdims: 0 }), // [4], summed over batch and rows
      node("Mul", ["x", "s"], ["y0"]),
      node("Mul", ["y0", "w"], ["y"]),
    ],
    inits: [int64Tensor("ax", [2], [0, 1]), randomTensor("w", [3, 1], rng)],
  });
});

Deno.test("Pow, Sqrt, Erf, Exp, Log, Neg, Reciprocal, Abs, Where, Max, Sum", async () => {
  await expectClose("Pow 2", {
    x: [5],
    nodes: [node("Pow", ["x", "two"], ["y"])],
    inits: [floatTensor("two", [], [2])],
  });
  await expectClose("Pow 1.5 (positive base)", {
    x: [5],
    nodes: [node("Exp", ["x"], ["e"]), node("Pow", ["e", "p"], ["y"])],
    inits: [floatTensor("p", [], [1.5])],
  });
  await expectClose("Pow active exponent", {
    x: [5],
    nodes: [node("Pow", ["b", "x"], ["y"])],
    inits: [floatTensor("b", [5], [1.5, 2, 0.7, 3, 1.1])],
  });
  await expectClose("Sqrt/Reciprocal/Log", {
    x: [6],
    nodes: [
      node("Mul", ["x", "x"], ["sq"]),
      node("Add", ["sq", "one"], ["p"]),
      node("Sqrt", ["p"], ["r"]),
      node("Reciprocal", ["r"], ["q"]),
      node("Log", ["p"], ["l"]),
      node("Add", ["q", "l"], ["y"]),
    ],
    inits: [floatTensor("one", [], [1])],
  });
  await expectClose("Erf/Neg/Abs/Exp", {
    x: [6],
    nodes: [
      node("Erf", ["x"], ["e"]),
      node("Neg", ["x"], ["n"]),
      node("Abs", ["n"], ["a"]),
      node("Exp", ["e"], ["ee"]),
      node("Sum", ["ee", "a", "x"], ["y"]),
    ],
  });
  await expectClose("Where/Max/Min/Mean", {
    x: [6],
    nodes: [
      node("Greater", ["x", "w"], ["c"]),
      node("Mul", ["x", "x"], ["sq"]),
      node("Where", ["c", "x", "sq"], ["wh"]),
      node("Max", ["wh", "w"], ["mx"]),
      node("Min", ["x", "mx"], ["mn"]),
      node("Mean", ["mn", "x", "wh"], ["y"]),
    ],
    inits: [randomTensor("w", [6], rng)],
  });
});

Deno.test("a Cast to float passes gradients; integer paths and constants are skipped", async () => {
  await expectClose("Cast + shape arithmetic", {
    x: [2, 3],
    nodes: [
      node("Cast", ["x"], ["c"], { to: 1 }),
      node("Shape", ["c"], ["s"]),
      node("Cast", ["s"], ["sf"], { to: 1 }),
      node("ReduceSum", ["sf"], ["n"], { keepdims: 0 }),
      node("Mul", ["c", "n"], ["y"]),
    ],
  });
});
