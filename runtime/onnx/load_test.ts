import { assertEquals, assertRejects } from "../../tests/assert.ts";
import { tinyClassifier, tinyRgb } from "../../tests/fixtures/tiny_models.ts";
import { DType, valueInfo } from "./builder.ts";
import { inspectModel } from "./inspect.ts";
import { loadModel } from "./load.ts";
import { encodeModel } from "./proto.ts";

Deno.test("reads names, dims (symbolic batch) and opset from a model file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/rgb.onnx`;
    await Deno.writeFile(path, encodeModel(tinyRgb(1)));
    const io = await (await loadModel(path, { classes: 10, channels: 3, height: 32, width: 32 }))
      .io;
    assertEquals(io.inputName, "input");
    assertEquals(io.inputDims, ["batch", 3, 32, 32]);
    assertEquals(io.outputName, "logits");
    assertEquals(io.outputDims, ["batch", 10]);
    assertEquals(io.opset, 13);
    assertEquals(inspectModel(tinyClassifier({ opset: 11 })).opset, 11);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("non-models and unreadable files are errors that name the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const junk = `${dir}/junk.onnx`;
    await Deno.writeFile(junk, new Uint8Array([1, 2, 3, 4]));
    await assertRejects(() => loadModel(junk), /junk\.onnx: not an ONNX model/);
    await assertRejects(() => loadModel(`${dir}/none.onnx`), /none\.onnx: cannot read/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  await assertRejects(() => loadModel(new Uint8Array([1, 2, 3, 4])), /<model>: not an ONNX model/);
});

Deno.test("bytes, paths and protos load alike; shape and class count come out fixed", async () => {
  const proto = tinyRgb(1);
  const fromBytes = await loadModel(encodeModel(proto));
  const fromProto = await loadModel(proto);
  assertEquals(fromBytes.inputShape, [3, 32, 32]);
  assertEquals(fromBytes.classes, 10);
  assertEquals(fromBytes.io, fromProto.io);
  assertEquals(fromProto.proto, proto);
});

Deno.test("an open C, H or W is refused; an open class count needs the expected one", async () => {
  const open = tinyRgb(1);
  open.graph!.input![0] = valueInfo("input", DType.FLOAT, ["batch", 3, "h", "w"]);
  await assertRejects(
    () => loadModel(open),
    /<model>: input 'input' needs fixed C, H, W, got \[batch,3,h,w\]/,
  );
  const anyClasses = tinyClassifier();
  anyClasses.graph!.output![0] = valueInfo("logits", DType.FLOAT, ["batch", "classes"]);
  assertEquals(inspectModel(anyClasses).outputDims, ["batch", "classes"]);
  await assertRejects(() => loadModel(anyClasses), /output 'logits' has no fixed class count/);
  assertEquals((await loadModel(anyClasses, { classes: 7 })).classes, 7);
});
