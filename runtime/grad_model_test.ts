import * as ort from "onnxruntime-node";
import { assert, assertEquals } from "../tests/assert.ts";
import { tinyClassifier } from "../tests/fixtures/tiny_models.ts";
import { createGradientModel, gradientBatchFor } from "./grad_model.ts";
import { encodeModel } from "./onnx/proto.ts";
import { resetProviderFallback } from "./session.ts";

const bytes = encodeModel(tinyClassifier({ channels: 1, size: 8, classes: 3, seed: 3 }));

async function cudaLoads(): Promise<boolean> {
  try {
    const s = await ort.InferenceSession.create(bytes, { executionProviders: ["cuda"] });
    await s.release();
    return true;
  } catch {
    return false;
  }
}

Deno.test("gradient runs are cache-sized on CPU and large on a GPU", () => {
  assertEquals(gradientBatchFor([1, 28, 28], "cpu"), 16);
  assertEquals(gradientBatchFor([3, 224, 224], "cpu"), 1);
  assertEquals(gradientBatchFor([1, 8, 8], "cpu"), 16);
  assertEquals(gradientBatchFor([1, 28, 28], "cuda"), 256);
  assertEquals(gradientBatchFor([3, 224, 224], "cuda"), 26);
  assertEquals(gradientBatchFor([3, 1024, 1024], "cuda"), 8);
});

Deno.test({
  name: "a gradient model asked for cuda where it is absent runs on CPU with CPU-sized batches",
  ignore: await cudaLoads(),
  fn: async () => {
    resetProviderFallback();
    const warn = console.warn;
    const warnings: string[] = [];
    console.warn = (...a: unknown[]) => warnings.push(a.join(" "));
    try {
      const gm = await createGradientModel(bytes, { providers: ["cuda", "cpu"] });
      try {
        assertEquals(gm.provider, "cpu");
        assertEquals(gm.maxBatch, 16);
        // 40 rows: three runs of at most 16, stitched back in order.
        const n = 40;
        const x = Float32Array.from({ length: n * 64 }, (_, i) => Math.sin(i));
        const cls = Int32Array.from({ length: n }, (_, i) => i % 3);
        const { probs, grad } = await gm.probsAndGrad(x, n, cls);
        const one = await gm.probsAndGrad(x.slice(39 * 64), 1, cls.slice(39));
        assertEquals(probs.length, n);
        assert(Math.abs(probs[39] - one.probs[0]) < 1e-6, `${probs[39]} vs ${one.probs[0]}`);
        for (let i = 0; i < 64; i++) {
          assert(Math.abs(grad[39 * 64 + i] - one.grad[i]) < 1e-6, `grad[${i}]`);
        }
      } finally {
        await gm.release();
      }
    } finally {
      console.warn = warn;
    }
    assertEquals(warnings.length, 1, warnings.join("\n"));
    assert(/cuda.*unavailable; running on cpu/.test(warnings[0]), warnings[0]);
  },
});
