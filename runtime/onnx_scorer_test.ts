import * as ort from "onnxruntime-node";
import { Rng } from "../lib/rng.ts";
import type { ScoreRequest } from "../explain/scorer.ts";
import { compose, Upsampler } from "../explain/upsample.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "../tests/assert.ts";
import { randomImages, tinyRgb } from "../tests/fixtures/tiny_models.ts";
import { encodeModel } from "./onnx/proto.ts";
import { OnnxScorer } from "./onnx_scorer.ts";
import { resetProviderFallback } from "./session.ts";

const model = encodeModel(tinyRgb(11));
const DIMS = [3, 32, 32] as const;
const CHW = 3 * 32 * 32;
const images = randomImages(10, CHW, 101);
const baselines = randomImages(10, CHW, 102).map((b) => b.map((v) => v * 0.1));

/** Reference probabilities: TypeScript composition + the bare model + softmax. */
async function reference(reqs: ScoreRequest[]): Promise<number[]> {
  const s = await ort.InferenceSession.create(model);
  const batch = new Float32Array(reqs.length * CHW);
  reqs.forEach((r, i) => {
    const g = Math.sqrt(r.mask.length);
    const u = new Upsampler(g, g, 32, 32, "bilinear").apply(r.mask);
    compose(images[r.image], baselines[r.image], u, 3, batch.subarray(i * CHW, (i + 1) * CHW));
  });
  const out = await s.run({ input: new ort.Tensor("float32", batch, [reqs.length, ...DIMS]) });
  await s.release();
  const logits = out.logits.data as Float32Array;
  return reqs.map((r, i) => {
    const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
    const mx = Math.max(...row);
    const z = row.reduce((a, v) => a + Math.exp(v - mx), 0);
    return Math.exp(row[r.cls] - mx) / z;
  });
}

function randomRequests(rng: Rng, n: number, sides: number[], imageSet = 10): ScoreRequest[] {
  return Array.from({ length: n }, () => {
    const g = sides[rng.int(sides.length)];
    return {
      image: rng.int(imageSet),
      mask: Float32Array.from({ length: g * g }, () => rng.next()),
      cls: rng.int(10),
    };
  });
}

/** Counts ORT runs and records the feeds' image counts by wrapping session.run. */
function countRuns(
  scorer: OnnxScorer,
): { runs: number; imageCounts: number[]; sizes: number[] } {
  const seen = { runs: 0, imageCounts: [] as number[], sizes: [] as number[] };
  const s = scorer.session as unknown as { run: (...a: unknown[]) => Promise<unknown> };
  const original = s.run.bind(s);
  s.run = (...args: unknown[]) => {
    const feeds = args[0] as Record<string, ort.Tensor>;
    seen.runs++;
    seen.imageCounts.push(feeds.diffs.dims[0]);
    seen.sizes.push(feeds.masks.dims[0]);
    return original(...args);
  };
  return seen;
}

Deno.test("many concurrent callers get their own results, in order, from coalesced batches", async () => {
  const scorer = await OnnxScorer.create(model, images, baselines, { batchSize: 32 });
  const seen = countRuns(scorer);
  const rng = new Rng(7);
  const calls = Array.from({ length: 24 }, () => randomRequests(rng, 1 + rng.int(20), [7, 28]));
  const results = await Promise.all(calls.map((reqs) => scorer.score(reqs)));
  const all = calls.flat();
  const want = await reference(all);
  let i = 0;
  calls.forEach((reqs, c) => {
    assertEquals(results[c].length, reqs.length);
    for (let j = 0; j < reqs.length; j++, i++) {
      assertAlmostEquals(results[c][j], want[i], 1e-5, `call ${c} request ${j}`);
    }
  });
  // Same-tick callers share batches: every batch is full except the last of each mask size.
  const per7 = all.filter((r) => r.mask.length === 49).length;
  const per28 = all.length - per7;
  assertEquals(seen.runs, Math.ceil(per7 / 32) + Math.ceil(per28 / 32));
  const st = scorer.stats();
  assertEquals(st.batches, seen.runs);
  assertEquals(st.masks, all.length);
  assert(st.meanBatchFill > 0.7 && st.meanBatchFill <= 1, `fill ${st.meanBatchFill}`);
  assert(st.busySeconds > 0 && st.busySeconds <= st.wallSeconds, "busy within wall time");
  await scorer.release();
});

Deno.test("callers that keep asking (search loops) are pipelined into full batches", async () => {
  const scorer = await OnnxScorer.create(model, images, baselines, { batchSize: 16 });
  const seen = countRuns(scorer);
  const rng = new Rng(8);
  const asked: ScoreRequest[][] = [];
  const got: Float32Array[] = [];
  const loops = Array.from({ length: 16 }, async (_, c) => {
    let total = 0;
    for (let step = 0; step < 5; step++) {
      const reqs = randomRequests(rng, 4, [7]);
      const p = await scorer.score(reqs);
      assertEquals(p.length, 4, `caller ${c}`);
      asked.push(reqs);
      got.push(p);
      total += p.length;
    }
    return total;
  });
  assertEquals((await Promise.all(loops)).reduce((a, b) => a + b, 0), 16 * 5 * 4);
  assertEquals(seen.runs, (16 * 5 * 4) / 16, "every batch full");
  const want = await reference(asked.flat());
  got.flat().forEach((_, i) => {
    const [c, j] = [Math.floor(i / 4), i % 4];
    assertAlmostEquals(got[c][j], want[i], 1e-5, `delivery ${c} request ${j}`);
  });
  await scorer.release();
});

Deno.test("masks at the image's resolution skip the upsampling session and score the same", async () => {
  const scorer = await OnnxScorer.create(model, images, baselines, { batchSize: 16 });
  const seen = countRuns(scorer);
  const rng = new Rng(9);
  const reqs = randomRequests(rng, 40, [32]);
  const got = await scorer.score(reqs);
  assertEquals(seen.runs, 0, "no run of the upsampling wrapper");
  assertEquals(scorer.stats().masks, 40);
  const want = await reference(reqs);
  reqs.forEach((_, i) => assertAlmostEquals(got[i], want[i], 1e-5, `request ${i}`));
  await scorer.release();
});

Deno.test("maskSides at the image's side: one full-resolution session, other sides refused", async () => {
  const scorer = await OnnxScorer.create(model, images, baselines, {
    batchSize: 16,
    maskSides: [32],
  });
  const seen = countRuns(scorer);
  const reqs = randomRequests(new Rng(12), 20, [32]);
  const got = await scorer.score(reqs);
  assertEquals(seen.runs, 2, "the one session is the full-resolution wrapper");
  const want = await reference(reqs);
  reqs.forEach((_, i) => assertAlmostEquals(got[i], want[i], 1e-5, `request ${i}`));
  await assertRejects(
    () => scorer.score(randomRequests(new Rng(13), 1, [7])),
    "built for 32x32 masks only",
  );
  await scorer.release();
});

Deno.test("a batch ships only the images its masks use; the queue stays under its cap", async () => {
  const scorer = await OnnxScorer.create(model, images, baselines[0], {
    batchSize: 8,
    maxQueued: 12,
  });
  const seen = countRuns(scorer);
  const rng = new Rng(9);
  const reqs = randomRequests(rng, 40, [7]).map((r, i) => ({ ...r, image: i % 2 === 0 ? 3 : 8 }));
  const big = await Promise.all([scorer.score(reqs), scorer.score(reqs.slice(0, 30))]);
  assertEquals(seen.imageCounts.every((k) => k === 2), true, `${seen.imageCounts}`);
  assert(scorer.stats().peakQueued <= 12, `peak ${scorer.stats().peakQueued}`);
  // A shared baseline is used for every image.
  const shared = baselines[0];
  const s = await ort.InferenceSession.create(model);
  const u = new Upsampler(7, 7, 32, 32, "bilinear").apply(reqs[5].mask);
  const x = compose(images[8], shared, u, 3);
  const out = await s.run({ input: new ort.Tensor("float32", x, [1, ...DIMS]) });
  const l = Array.from(out.logits.data as Float32Array);
  const z = l.reduce((a, v) => a + Math.exp(v), 0);
  assertAlmostEquals(big[0][5], Math.exp(l[reqs[5].cls]) / z, 1e-5);
  assertEquals(Array.from(big[1]), Array.from(big[0].subarray(0, 30)));
  await s.release();
  await scorer.release();
});

Deno.test("batchSize auto picks one of the candidates", async () => {
  const scorer = await OnnxScorer.create(model, images, baselines, {
    batchSize: "auto",
    autoCandidates: [4, 16, 64],
    autoSeconds: 0.3,
  });
  assert([4, 16, 64].includes(scorer.batchSize), `${scorer.batchSize}`);
  const p = await scorer.score(randomRequests(new Rng(1), 5, [7]));
  assertEquals(p.length, 5);
  await scorer.release();
});

Deno.test("asking for cuda falls back to CPU with one warning and still scores", async () => {
  resetProviderFallback();
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...a: unknown[]) => warnings.push(a.join(" "));
  let scorers: OnnxScorer[];
  try {
    scorers = [
      await OnnxScorer.create(model, images, baselines, {
        session: { providers: ["cuda", "cpu"] },
      }),
      await OnnxScorer.create(model, images, baselines, { session: { providers: ["cuda"] } }),
    ];
  } finally {
    console.warn = original;
  }
  if (scorers.every((s) => s.provider === "cuda")) return; // a GPU machine: nothing fell back
  assertEquals(scorers.map((s) => s.provider), ["cpu", "cpu"]);
  assertEquals(warnings.length, 1, warnings.join("\n"));
  const reqs = randomRequests(new Rng(3), 6, [7]);
  const got = await scorers[1].score(reqs);
  const want = await reference(reqs);
  for (let i = 0; i < 6; i++) assertAlmostEquals(got[i], want[i], 1e-5);
  for (const s of scorers) await s.release();
});

Deno.test("bad requests are rejected with the reason", async () => {
  const scorer = await OnnxScorer.create(model, images, baselines, { batchSize: 4 });
  const mask = new Float32Array(49);
  await assertRejects(() => scorer.score([{ image: 10, mask, cls: 0 }]), /image 10.*holds 10/);
  await assertRejects(
    () => scorer.score([{ image: 0, mask: new Float32Array(50), cls: 0 }]),
    /50 values, not a square/,
  );
  await assertRejects(() => scorer.score([{ image: 0, mask, cls: 10 }]), /class 10.*has 10/);
  assertEquals((await scorer.score([])).length, 0);
  await assertRejects(
    () => OnnxScorer.create(model, images, baselines.slice(1)),
    /10 images but 9 baselines/,
  );
  await scorer.release();
});

Deno.test("images added later score as if given at creation; removed ones are refused", async () => {
  const scorer = await OnnxScorer.create(model, images.slice(0, 4), baselines.slice(0, 4), {
    batchSize: 8,
  });
  const added = scorer.addImages(images.slice(4), baselines.slice(4));
  assertEquals(added, [4, 5, 6, 7, 8, 9]);
  const reqs = randomRequests(new Rng(31), 40, [7]);
  const seen = countRuns(scorer);
  const got = await scorer.score(reqs);
  const want = await reference(reqs);
  want.forEach((w, i) => assertAlmostEquals(got[i], w, 1e-5));
  assertEquals(
    seen.runs,
    5,
    "one call of 40 masks: five full batches, early and late images mixed",
  );

  scorer.removeImages([0, 5]);
  const mask = new Float32Array(49).fill(1);
  await assertRejects(() => scorer.score([{ image: 5, mask, cls: 0 }]), /image 5, removed/);
  const rest = reqs.filter((r) => r.image !== 0 && r.image !== 5).slice(0, 6);
  const again = await scorer.score(rest);
  (await reference(rest)).forEach((w, i) => assertAlmostEquals(again[i], w, 1e-5));
  assertEquals(scorer.addImages([images[0]], baselines[0]), [10], "indices are never reused");
  await assertRejects(() => scorer.score([{ image: 11, mask, cls: 0 }]), /image 11.*holds 11/);
  await scorer.release();
});

Deno.test("a mask's score does not depend on what shares its batch, a lone mask included", async () => {
  // zoo/models/vit-ln.onnx: onnxruntime's one-row MatMul differs in the last bit there.
  const rng = new Rng(7);
  const ims = Array.from({ length: 4 }, () => Float32Array.from({ length: 784 }, () => rng.next()));
  const scorer = await OnnxScorer.create("zoo/models/vit-ln.onnx", ims, new Float32Array(784), {
    batchSize: 32,
  });
  const reqs = Array.from({ length: 24 }, (_, i) => ({
    image: i % 4,
    cls: i % 10,
    mask: Float32Array.from({ length: 49 }, () => (rng.next() < 0.5 ? 1 : 0)),
  }));
  const together = await scorer.score(reqs);
  for (let i = 0; i < reqs.length; i++) {
    assertEquals((await scorer.score([reqs[i]]))[0], together[i], `mask ${i} alone`);
  }
  const pairs = await Promise.all([0, 2, 4].map((i) => scorer.score(reqs.slice(i, i + 2))));
  assertEquals(pairs.flatMap((p) => [...p]), [...together.subarray(0, 6)]);
  const st = scorer.stats();
  assertEquals(st.masks, 24 + 24 + 6, "a padded lone mask counts once");
  await scorer.release();
});
