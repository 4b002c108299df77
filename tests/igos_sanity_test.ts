/**
 * Sanity checks of iGOS++ on a real zoo model (issue 7): its heatmaps explain the model better
 * than random heatmaps and plain gradients (own-model insertion AUC), they depend on the learned
 * weights (model randomisation, as in the saliency sanity-checks literature), and a fixed seed
 * reproduces them byte for byte.
 */
import { assert } from "./assert.ts";
import { igosBatch } from "../explain/igos.ts";
import { insertionCurves } from "../explain/insertion.ts";
import { gradientSaliency } from "../explain/saliency.ts";
import { Rng } from "../lib/rng.ts";
import { createGradientModel } from "../runtime/grad_model.ts";
import { loadImages } from "../runtime/images.ts";
import { optionsFromCard } from "../runtime/preprocess_options.ts";
import { listFolderWithLabels } from "../runtime/datasets.ts";
import { OnnxScorer } from "../runtime/onnx_scorer.ts";
import { decodeModel, encodeModel } from "../runtime/onnx/proto.ts";

const MODEL = "zoo/models/cnn-bn.onnx";
const present = (() => {
  try {
    Deno.statSync(MODEL);
    return true;
  } catch {
    return false;
  }
})();
const OPTIONS = { iterations: 10, steps: 10, seed: 7 };

async function setup(n: number) {
  const card = JSON.parse(await Deno.readTextFile(MODEL.replace(".onnx", ".json")));
  const ds = listFolderWithLabels("data/fashion-sample", "data/fashion-sample/labels.csv");
  // Spread over classes: every 50th image is a new class.
  const files = Array.from({ length: n }, (_, k) => ds.items[k * 50 + 3].file);
  const { ok } = await loadImages(files, optionsFromCard(card.preprocess, MODEL));
  const grad = await createGradientModel(MODEL, { target: "prob" });
  const x = new Float32Array(ok.length * 784);
  ok.forEach((im, k) => x.set(im.image, k * 784));
  const { logits } = await grad.logits(x, ok.length);
  const cls = ok.map((_, k) => {
    let best = 0;
    for (let c = 1; c < 10; c++) if (logits[k * 10 + c] > logits[k * 10 + best]) best = c;
    return best;
  });
  const items = ok.map((im, k) => ({
    image: im.image,
    baseline: im.baseline,
    cls: cls[k],
    id: k,
  }));
  return { ok, grad, items, cls };
}

async function meanInsertion(
  heatmaps: Float32Array[],
  setupOut: Awaited<ReturnType<typeof setup>>,
) {
  const scorer = await OnnxScorer.create(
    MODEL,
    setupOut.ok.map((i) => i.image),
    setupOut.ok.map((i) => i.baseline),
    { batchSize: 64 },
  );
  try {
    const curves = await insertionCurves(
      heatmaps.map((h, k) => ({ image: k, heatmap: h, cls: setupOut.cls[k] })),
      scorer,
      { deletion: false },
    );
    return curves.reduce((a, c) => a + c.insertionAuc, 0) / curves.length;
  } finally {
    await scorer.release();
  }
}

function spearman(a: Float32Array, b: Float32Array): number {
  const rank = (v: Float32Array) => {
    const idx = Array.from(v.keys()).sort((i, j) => v[i] - v[j]);
    const r = new Float64Array(v.length);
    idx.forEach((i, k) => (r[i] = k));
    return r;
  };
  const ra = rank(a), rb = rank(b), n = a.length, m = (n - 1) / 2;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < n; i++) {
    num += (ra[i] - m) * (rb[i] - m);
    da += (ra[i] - m) ** 2;
    db += (rb[i] - m) ** 2;
  }
  return num / Math.sqrt(da * db);
}

Deno.test({
  name:
    "iGOS++ on cnn-bn: beats random and gradient heatmaps on insertion; seeded runs are byte-identical",
  ignore: !present,
  async fn() {
    const s = await setup(6);
    try {
      const a = await igosBatch(s.items, s.grad, OPTIONS);
      const b = await igosBatch(s.items, s.grad, OPTIONS);
      a.heatmaps.forEach((h, k) => {
        const x = new Uint8Array(h.buffer), y = new Uint8Array(b.heatmaps[k].buffer);
        assert(
          x.length === y.length && x.every((v, i) => v === y[i]),
          `image ${k}: not byte-identical`,
        );
      });
      const rng = new Rng(11);
      const random = s.items.map(() => Float32Array.from({ length: 784 }, () => rng.next()));
      const gradient = await gradientSaliency(
        s.items.map((i) => ({ image: i.image, cls: i.cls })),
        s.grad,
        { maskSize: 28 },
      );
      const [igos, rnd, grd] = [
        await meanInsertion(a.heatmaps, s),
        await meanInsertion(random, s),
        await meanInsertion(gradient, s),
      ];
      console.log(
        `own-model insertion AUC: iGOS++ ${igos.toFixed(3)}, gradient ${grd.toFixed(3)}, random ${
          rnd.toFixed(3)
        }`,
      );
      assert(igos > rnd, `iGOS++ ${igos} vs random ${rnd}`);
      assert(igos > grd, `iGOS++ ${igos} vs gradient ${grd}`);
    } finally {
      await s.grad.release();
    }
  },
});

Deno.test({
  name:
    "iGOS++ on cnn-bn: heatmaps of a weight-randomised model differ clearly (model randomisation check)",
  ignore: !present,
  async fn() {
    const s = await setup(6);
    const model = decodeModel(await Deno.readFile(MODEL), MODEL);
    const rng = new Rng(5);
    for (const t of model.graph!.initializer ?? []) {
      if (t.dataType !== 1 || !t.rawData || t.rawData.length < 4 * 16) continue; // weights, not BN scalars
      const v = new Float32Array(t.rawData.slice().buffer);
      let sd = 0;
      for (const x of v) sd += x * x;
      sd = Math.sqrt(sd / v.length);
      for (let i = 0; i < v.length; i++) v[i] = sd * rng.normal();
      t.rawData = new Uint8Array(v.buffer);
    }
    const randomised = await createGradientModel(encodeModel(model), { target: "prob" });
    try {
      const trained = await igosBatch(s.items, s.grad, OPTIONS);
      const other = await igosBatch(s.items, randomised, OPTIONS);
      const rhos = trained.heatmaps.map((h, k) => spearman(h, other.heatmaps[k]));
      const mean = rhos.reduce((a, b) => a + b, 0) / rhos.length;
      console.log(
        `rank correlation trained vs randomised: mean ${mean.toFixed(3)} [${
          rhos.map((r) => r.toFixed(2)).join(", ")
        }]`,
      );
      assert(mean < 0.5, `mean Spearman ${mean}`);
    } finally {
      await s.grad.release();
      await randomised.release();
    }
  },
});
