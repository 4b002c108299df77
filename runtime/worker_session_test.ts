import * as ort from "onnxruntime-node";
import { Rng } from "../lib/rng.ts";
import { assertEquals, assertRejects } from "../tests/assert.ts";
import { randomImages, tinyRgb } from "../tests/fixtures/tiny_models.ts";
import { encodeModel } from "./onnx/proto.ts";
import { OnnxScorer } from "./onnx_scorer.ts";
import { WorkerSession } from "./worker_session.ts";

const model = encodeModel(tinyRgb(11));

Deno.test("a worker session returns what an in-thread session returns, bit for bit", async () => {
  const ws = await WorkerSession.create(model);
  const local = await ort.InferenceSession.create(model);
  try {
    assertEquals([...ws.inputNames], [...local.inputNames]);
    const x = new Float32Array(3 * 3 * 32 * 32).map((_, i) => Math.sin(i));
    const feeds = { input: new ort.Tensor("float32", x, [3, 3, 32, 32]) };
    const a = await ws.run(feeds, ["logits"]);
    const b = await local.run(feeds, ["logits"]);
    assertEquals(a.logits.dims, b.logits.dims);
    assertEquals(
      Array.from(a.logits.data as Float32Array),
      Array.from(b.logits.data as Float32Array),
    );
    assertEquals(x[5], Math.fround(Math.sin(5)), "the caller's buffer is left as it was");
  } finally {
    await ws.release();
    await local.release();
  }
});

Deno.test("worker session errors name the cause; a released session refuses runs", async () => {
  await assertRejects(
    () => WorkerSession.create(new Uint8Array([1, 2, 3]), {}, "bad.onnx"),
    "bad.onnx: cannot create an ONNX Runtime session",
  );
  const ws = await WorkerSession.create(model);
  await assertRejects(
    () => ws.run({ input: new ort.Tensor("float32", new Float32Array(5), [5]) }, ["logits"]),
    /input|dims|shape|rank/i,
  );
  await ws.release();
  await assertRejects(
    () => ws.run({ input: new ort.Tensor("float32", new Float32Array(5), [5]) }, ["logits"]),
    "released",
  );
});

Deno.test("an off-thread Scorer scores exactly as the in-thread one", async () => {
  const images = randomImages(6, 3 * 32 * 32, 31);
  const baselines = randomImages(6, 3 * 32 * 32, 32).map((b) => b.map((v) => v * 0.1));
  const rng = new Rng(4);
  const reqs = Array.from({ length: 70 }, () => {
    const side = [7, 32][rng.int(2)];
    return {
      image: rng.int(6),
      cls: rng.int(10),
      mask: Float32Array.from({ length: side * side }, () => rng.next()),
    };
  });
  const off = await OnnxScorer.create(model, images, baselines, { batchSize: 16, offThread: true });
  const on = await OnnxScorer.create(model, images, baselines, { batchSize: 16 });
  try {
    const calls = [reqs.slice(0, 20), reqs.slice(20, 45), reqs.slice(45)];
    const a = (await Promise.all(calls.map((c) => off.score(c)))).flatMap((p) => Array.from(p));
    const b = (await Promise.all(calls.map((c) => on.score(c)))).flatMap((p) => Array.from(p));
    assertEquals(a, b);
    assertEquals(off.stats().masks, 70);
  } finally {
    await off.release();
    await on.release();
  }
});
