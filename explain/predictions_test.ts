import { assertAlmostEquals, assertEquals } from "../tests/assert.ts";
import { activationCurve, ensembleAccuracy, summarisePredictions, topK } from "./predictions.ts";

Deno.test("topK orders by probability with ties by index", () => {
  const p = Float32Array.from([0.1, 0.4, 0.1, 0.3, 0.1]);
  assertEquals(topK(p, 0, 5, 3), [1, 3, 0]);
  assertEquals(topK(p, 0, 5, 5), [1, 3, 0, 2, 4]);
});

Deno.test("t, b, bPred and accuracy from hand-made probabilities", () => {
  const full = Float32Array.from([0.7, 0.2, 0.1, 0.1, 0.3, 0.6]);
  const blur = Float32Array.from([0.4, 0.3, 0.3, 0.5, 0.25, 0.25]);
  const s = summarisePredictions(full, blur, 3, [0, 1], 2);
  assertEquals(s.perImage.map((p) => p.pred), [0, 2]);
  assertAlmostEquals(s.t, (0.7 + 0.6) / 2, 1e-6);
  assertAlmostEquals(s.b, (0.4 + 0.5) / 2, 1e-6);
  // ĉ = 0 and 2: their blurred confidences, not the blurred maxima.
  assertEquals(s.perImage.map((p) => p.blurPred), [Math.fround(0.4), Math.fround(0.25)]);
  assertAlmostEquals(s.bPred, (0.4 + 0.25) / 2, 1e-6);
  assertEquals(s.top1, 50);
  assertEquals(s.top5, 100, "label 1 is second for image 2");
});

Deno.test("an ensemble of two models that disagree picks the mean's argmax", () => {
  const a = Float32Array.from([0.6, 0.4, 0.2, 0.8]);
  const b = Float32Array.from([0.1, 0.9, 0.4, 0.6]);
  assertEquals(ensembleAccuracy([a, b], 2, [1, 1]), 100);
  assertEquals(ensembleAccuracy([a], 2, [1, 1]), 50);
});

Deno.test("activation curve averages channel maxima over images and sorts descending", () => {
  // channel means: (1+3)/2 = 2, (6+0)/2 = 3, (2+0)/2 = 1.
  assertEquals(activationCurve(Float32Array.from([1, 6, 2, 3, 0, 0]), 2), [3, 2, 1]);
});
