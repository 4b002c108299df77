import * as ort from "onnxruntime-node";
import { assertEquals } from "../../tests/assert.ts";
import { DType, floatTensor, getAttr, makeGraph, makeModel, node, valueInfo } from "./builder.ts";
import { decodeModel, encodeModel } from "./proto.ts";

Deno.test("a built graph round-trips through the codec and runs in onnxruntime", async () => {
  const g = makeGraph(
    "t",
    [
      node("Mul", ["x", "w"], ["y0"]),
      node("LeakyRelu", ["y0"], ["y"], { alpha: 0.5 }, { floatKeys: ["alpha"] }),
    ],
    [valueInfo("x", DType.FLOAT, ["batch", 3])],
    [valueInfo("y", DType.FLOAT, ["batch", 3])],
    [floatTensor("w", [3], [1, -2, 3])],
  );
  const bytes = encodeModel(makeModel(g, 17));
  const back = decodeModel(bytes);
  assertEquals(getAttr(back.graph!.node![1], "alpha"), 0.5);
  const s = await ort.InferenceSession.create(bytes);
  const out = await s.run({
    x: new ort.Tensor("float32", Float32Array.from([1, 1, 1, 2, 2, 2]), [2, 3]),
  });
  assertEquals(Array.from(out.y.data as Float32Array), [1, -1, 3, 2, -2, 6]);
  await s.release();
});
