import { loadConfig } from "../../cli/config.ts";
import { configSchema } from "../../configs/schema.ts";
import { randomImages } from "../../tests/fixtures/tiny_models.ts";
import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import { modelOf } from "./common.ts";
import { ScorerPool, stagePool } from "./scorer_pool.ts";
import type { ChunkTensors } from "./tensors.ts";

const { config: loaded } = await loadConfig("configs/default.json", configSchema);
const config = { ...loaded, runtime: { ...loaded.runtime, batchSize: 8 } };
const cnn = await modelOf(config, "cnn-bn/c0000");
const vit = await modelOf(config, "vit-ln/c0000");

function chunk(n: number, seed: number): ChunkTensors {
  const ims = randomImages(n, 784, seed);
  const images = new Float32Array(n * 784), baselines = new Float32Array(n * 784);
  ims.forEach((im, k) => images.set(im, k * 784));
  return {
    items: Array.from({ length: n }, (_, k) => ({ pos: k, id: `i${k}`, file: "", label: null })),
    images,
    baselines,
    rgb01: new Float32Array(0),
    shape: [1, 28, 28],
  };
}

const mask = Float32Array.from({ length: 49 }, (_, i) => (i % 5) / 4);

Deno.test("chunks of one model share one Scorer, each under its own image indices", async () => {
  const pool = new ScorerPool();
  const a = chunk(3, 1), b = chunk(2, 2);
  const [la, lb] = await Promise.all([
    pool.lease(cnn, a, config, "bilinear"),
    pool.lease(cnn, b, config, "bilinear"),
  ]);
  assert(la.scorer === lb.scorer, "one Scorer for both chunks");
  assertEquals([...la.images, ...lb.images].sort(), [0, 1, 2, 3, 4]);
  // Chunk b's second image scores as on a Scorer of its own.
  const alone = await new ScorerPool().lease(cnn, b, config, "bilinear");
  const [shared] = await lb.scorer.score([{ image: lb.images[1], mask, cls: 3 }]);
  const [own] = await alone.scorer.score([{ image: alone.images[1], mask, cls: 3 }]);
  assertEquals(shared, own);
  await alone.release();

  await la.release();
  const lc = await pool.lease(cnn, chunk(1, 3), config, "bilinear");
  assert(lc.scorer === lb.scorer, "still open while a lease holds it");
  await lb.release();
  await lc.release();
  // A released chunk's images are gone.
  await assertRejects(() => lc.scorer.score([{ image: lc.images[0], mask, cls: 0 }]), /removed/);
  // An idle Scorer is closed when another model is asked for.
  const lv = await pool.lease(vit, chunk(1, 4), config, "bilinear");
  const again = await pool.lease(cnn, chunk(1, 5), config, "bilinear");
  assert(again.scorer !== lc.scorer, "the idle cnn-bn Scorer was closed, a new one opened");
  assertEquals(again.images, [0]);
  await lv.release();
  await again.release();
  await pool.close();
});

Deno.test("a unit run without the stage's open hook gets a Scorer of its own, released with it", async () => {
  const scorers = stagePool();
  const l = await scorers.lease(cnn, chunk(2, 6), config, "bilinear");
  const [p] = await l.scorer.score([{ image: l.images[0], mask, cls: 1 }]);
  assert(p > 0 && p < 1);
  await l.release();
  await assertRejects(() => l.scorer.score([{ image: l.images[1], mask, cls: 1 }]), /removed/);
});
