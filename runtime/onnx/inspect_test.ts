import { assertThrows } from "../../tests/assert.ts";
import { tinyRgb } from "../../tests/fixtures/tiny_models.ts";
import { DType, valueInfo } from "./builder.ts";
import { checkModel, inspectModel } from "./inspect.ts";

Deno.test("mismatches are errors that name the file", () => {
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
