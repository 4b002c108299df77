import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { describeBaseline, parseCalibrationReference, regime } from "./calibration.ts";

Deno.test("regime: mean r(∅) and the share strictly above Ph", () => {
  const items = [
    { pFull: 0.8, blurPred: 0.08 }, // 0.1
    { pFull: 0.5, blurPred: 0.45 }, // 0.9: not above Ph 0.9
    { pFull: 0.5, blurPred: 0.5 }, // 1.0
    { pFull: 0.4, blurPred: 0.2 }, // 0.5
  ];
  const r = regime(items, 0.9);
  assertEquals(r.images, 4);
  assert(Math.abs(r.mean_r0 - (0.1 + 0.9 + 1 + 0.5) / 4) < 1e-12);
  assertEquals(r.suffices, 0.25);
});

Deno.test("the committed bench/baseline-regime.json gives the ImageNet reference row", async () => {
  const file = "bench/baseline-regime.json";
  const ref = parseCalibrationReference(
    await Deno.readTextFile(new URL(`../../${file}`, import.meta.url)),
    file,
  );
  assertEquals(ref.source, file);
  assertEquals(ref.model, "mobilenetv2-12-int8");
  assertEquals([ref.images, ref.mean_r0, ref.suffices], [300, 0.0069, 0]);
  assertThrows(
    () => parseCalibrationReference("{}", "x.json"),
    'x.json: expected key "imagenet"',
  );
  assertThrows(
    () =>
      parseCalibrationReference('{"imagenet": {"model": "m", "blur": "b", "r0": {}}}', "x.json"),
    'x.json: expected number "imagenet.r0.images"',
  );
  // A wrong path (report.calibrationReference) names the file, never prints it.
  const e = assertThrows(() => parseCalibrationReference("root:x:0:0:root", "/etc/passwd"));
  assert(e instanceof Error && e.message.startsWith("/etc/passwd: invalid JSON"), String(e));
  assert(!e.message.includes("root:x"), e.message);
});

Deno.test("describeBaseline says which blur", () => {
  assertEquals(
    describeBaseline({ blur: { kernelFraction: 2, sigmaFraction: 1 } }),
    "a Gaussian blur of kernel 2 and sigma 1 image sides",
  );
  assert(/paper's Gaussian blur/.test(describeBaseline("blur")));
});
