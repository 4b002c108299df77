import assert from "node:assert/strict";
import { assertThrows } from "../tests/assert.ts";
import {
  defaults,
  optionsFromCard,
  preprocessBlockSchema,
  validateOptions,
} from "./preprocess_options.ts";

Deno.test("a card's preprocess block is read", () => {
  const card = {
    color: "RGB (convert greyscale/CMYK to sRGB first)",
    resize_short_side: 256,
    center_crop: 224,
    interpolation: "bilinear",
    scale: "1/255",
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
  };
  const o = optionsFromCard(card, "m.json");
  assert.equal(o.channels, 3);
  assert.equal(o.scale, 1 / 255);
  assert.equal(o.baseline, "blur");
  const g = optionsFromCard({ ...card, color: "grey", mean: [0.5], std: [0.25] }, "g.json");
  assert.equal(g.channels, 1);
  assert.throws(
    () => optionsFromCard({ ...card, scale: "a quarter" }, "m.json"),
    (e: Error) => e.message.startsWith("m.json: preprocess.scale"),
  );
  assert.throws(
    () => optionsFromCard({ ...card, interpolation: "lanczos" }, "m.json"),
    (e: Error) => e.message.includes("preprocess.interpolation"),
  );
});

Deno.test("errors name the path and what was expected", () => {
  const card = { channels: 1, mean: [0.5], std: [0.25] };
  const cases: [Record<string, unknown>, RegExp][] = [
    [
      { ...card, channels: 2 },
      /^m\.json: preprocess\.channels: expected one of 1, 3, got number 2/,
    ],
    [
      { ...card, color: "cmyk" },
      /^m\.json: preprocess\.color: expected a colour starting with RGB/,
    ],
    [
      { ...card, center_crop: 0 },
      /preprocess\.center_crop: expected an integer in \[1, inf\] or null/,
    ],
    [{ ...card, std: [0] }, /^m\.json: preprocess\.std\[0\]: expected a number > 0, got 0/],
    [
      { ...card, mean: [0.5, 0.5] },
      /preprocess\.mean: expected 1 finite number \(one per channel\), got 2$/,
    ],
    [{ ...card, scale: "1/0" }, /^m\.json: preprocess\.scale: expected a number > 0, got Infinity/],
  ];
  for (const [block, want] of cases) {
    assertThrows(() => optionsFromCard(block, "m.json"), want);
  }
  assertThrows(() => optionsFromCard([], "m.json"), /^m\.json: preprocess: expected an object/);
  assertThrows(
    () => validateOptions({ ...defaults, blur: { size: 4, sigma: 1 } }),
    /^preprocess\.blur: gaussianKernel: size must be a positive odd integer/,
  );
});

Deno.test("a card's other keys are ignored, a config's are refused; null turns a step off", () => {
  const o = optionsFromCard({ center_crop: null, note: "as exported" }, "m.json");
  assert.equal(o.center_crop, null);
  assert.equal(o.resize_short_side, defaults.resize_short_side);
  assertThrows(
    () => preprocessBlockSchema.parse({ centre_crop: 224 }, "config.models[0].preprocess"),
    /^config\.models\[0\]\.preprocess\.centre_crop: unknown key, did you mean "center_crop"\?/,
  );
  // `channels` wins over `color`, as a config's channels win over its card's color.
  assert.equal(
    optionsFromCard({ color: "RGB", channels: 1, mean: [0], std: [1] }, "m").channels,
    1,
  );
  // Fields the block leaves out come from the base, which is not changed.
  const base = { ...defaults, min_side: 4 };
  assert.equal(optionsFromCard({}, "m", base).min_side, 4);
  assert.deepEqual(optionsFromCard({ mean: [1, 2, 3] }, "m", base).std, defaults.std);
  assert.deepEqual(base.mean, defaults.mean);
});
