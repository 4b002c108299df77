import * as ort from "onnxruntime-node";
import { assertAlmostEquals, assertEquals, assertRejects } from "../tests/assert.ts";
import { randomImages, tinyGrey } from "../tests/fixtures/tiny_models.ts";
import { Forward, softmax, topIndices } from "./forward.ts";
import { encodeModel } from "./onnx/proto.ts";

Deno.test("topIndices and softmax", () => {
  assertEquals(Array.from(topIndices([0.1, 0.5, 0.2, 0.5, 0.05], 3)), [1, 3, 2]);
  assertEquals(Array.from(topIndices([3, 2, 1], 5).subarray(0, 3)), [0, 1, 2]);
  const p = softmax([1, 2, 3]);
  assertAlmostEquals(p[0] + p[1] + p[2], 1, 1e-12);
  assertAlmostEquals(p[2] / p[1], Math.E, 1e-12);
});

Deno.test("batched forward matches one big run, with top-5, probs and an extra output", async () => {
  const model = tinyGrey(4);
  const imgs = randomImages(7, 784, 12);
  const f = await Forward.create(model, {
    batchSize: 3,
    probs: true,
    extraOutputs: ["last_block"],
  });
  const r = await f.run(imgs);
  const s = await ort.InferenceSession.create(encodeModel(model));
  const all = new Float32Array(7 * 784);
  imgs.forEach((x, i) => all.set(x, i * 784));
  const out = await s.run({ input: new ort.Tensor("float32", all, [7, 1, 28, 28]) });
  const logits = out.logits.data as Float32Array;
  for (let i = 0; i < 7; i++) {
    const p = softmax(logits.subarray(i * 10, i * 10 + 10));
    const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a]).slice(0, 5);
    assertEquals(Array.from(r.top.subarray(i * 5, i * 5 + 5)), order);
    for (let j = 0; j < 10; j++) assertAlmostEquals(r.probs![i * 10 + j], p[j], 1e-6);
    assertAlmostEquals(r.topProbs[i * 5], p[order[0]], 1e-6);
  }
  assertEquals(r.extras.last_block.dims, [7, 8, 14, 14]);
  // Batches of 3 concatenate to what one batch of 7 gives.
  const lb = await f.session.run({ input: new ort.Tensor("float32", all, [7, 1, 28, 28]) }, [
    "last_block",
  ]);
  assertEquals(r.extras.last_block.data, lb.last_block.data as Float32Array);
  // The same images as one [n, C, H, W] array give the same answer.
  const r2 = await f.run(all);
  assertEquals(r2.top, r.top);
  await s.release();
  await f.release();
  await assertRejects(
    () => Forward.create(model, { extraOutputs: ["nope"] }),
    /extra output 'nope'/,
  );
});
