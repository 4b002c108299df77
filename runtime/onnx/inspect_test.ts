import { assertEquals, assertRejects, assertThrows } from "../../tests/assert.ts";
import { tinyClassifier, tinyRgb } from "../../tests/fixtures/tiny_models.ts";
import { DType, valueInfo } from "./builder.ts";
import { encodeModel } from "./proto.ts";
import { checkModel, inspectModel, inspectModelFile } from "./inspect.ts";

Deno.test("reads names, dims (symbolic batch) and opset from a model file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/rgb.onnx`;
    await Deno.writeFile(path, encodeModel(tinyRgb(1)));
    const io = await inspectModelFile(path, { classes: 10, channels: 3, height: 32, width: 32 });
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

Deno.test("mismatches and non-models are errors that name the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const junk = `${dir}/junk.onnx`;
    await Deno.writeFile(junk, new Uint8Array([1, 2, 3, 4]));
    await assertRejects(() => inspectModelFile(junk), /junk\.onnx: not an ONNX model/);
    await assertRejects(() => inspectModelFile(`${dir}/none.onnx`), /none\.onnx: cannot read/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const io = inspectModel(tinyRgb(1), "rgb.onnx");
  assertThrows(
    () => checkModel(io, { classes: 1000 }),
    /rgb\.onnx: output 'logits' has 10 classes.*1000/,
  );
  assertThrows(() => checkModel(io, { channels: 1 }), /rgb\.onnx: channel count .* is 3, but 1/);
  assertThrows(() => checkModel(io, { height: 224 }), /rgb\.onnx: height .* is 32, but 224/);
  const flat = tinyRgb(1);
  flat.graph!.input![0] = valueInfo("input", DType.FLOAT, ["batch", 3072]);
  assertThrows(
    () => inspectModel(flat, "flat.onnx"),
    /flat\.onnx: input 'input' has rank 2.*rank 4 \(NCHW\)/,
  );
});
