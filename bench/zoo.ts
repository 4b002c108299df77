/**
 * Benchmarks of the explanation stages on real zoo models, each ratio measured within one run:
 * - Scorer utilisation during mse-search and cross-test: masks/s against raw session.run of the
 *   bare model on pre-composed batches of the same size (the inference benchmark's raw figure);
 * - model evaluations per image with the shared memo against a reference-style tree that scores
 *   every node (subtree-count);
 * - iGOS++ seconds per image (the paper preset and the zoo config's lighter one);
 * - gradient graph time per image against the forward pass.
 * Prints JSON and writes it to bench/zoo-results.json.
 *
 * mse-search runs `--images` images concurrently and cross-test scores `--cross-images` heatmaps in
 * one call, as one unit of those stages does for a chunk (configs/paper.json chunks 50 images).
 * The streamed figure runs `--chunks` such chunks (the same images again under new indices, with
 * fresh memos) two at a time on one Scorer, as the mse-search stage runs a model's units
 * (stages/support/scorer_pool.ts); the I-GOS pool is computed beforehand, untimed, as in the other phases.
 * The Scorer runs batches of `--batch` masks, the inference benchmark's size for the zoo
 * (bench/scorer.ts), and the raw figure is taken at the same size.
 *
 *   deno run -A bench/zoo.ts [--models cnn-bn,vit-ln] [--images 50] [--cross-images 50]
 *     [--batch 128] [--chunks 4]
 */
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { countEvaluations } from "./mse.ts";
import { benchIgos } from "./igos.ts";
import { igos7 } from "../explain/igos.ts";
import { runMseSearch } from "../explain/mse_run.ts";
import { defaults as mseDefaults } from "../explain/beam_search.ts";
import { insertionCurves } from "../explain/insertion.ts";
import { Rng } from "../lib/rng.ts";
import { compose, Upsampler } from "../explain/upsample.ts";
import { benchGrad } from "./grad.ts";
import { listFolderWithLabels } from "../runtime/datasets.ts";
import { createGradientModel } from "../runtime/grad_model.ts";
import { loadImages } from "../runtime/images.ts";
import { optionsFromCard } from "../runtime/preprocess_options.ts";
import { OnnxScorer } from "../runtime/onnx_scorer.ts";
import { createSession } from "../runtime/session.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    models: { type: "string", default: "cnn-bn,vit-ln" },
    images: { type: "string", default: "50" },
    batch: { type: "string", default: "128" },
    "cross-images": { type: "string", default: "50" },
    chunks: { type: "string", default: "4" },
  },
});
const N = Number(values.images);
const NC = Number(values["cross-images"]);
const CHUNKS = Number(values.chunks);

/**
 * `chunks` runs of `search` over the same images, each under new scorer indices, `streams` at a
 * time: a model's mse-search units as the stage's shared Scorer serves them.
 */
async function streamedChunks<T extends { image: number }>(
  scorer: OnnxScorer,
  images: Float32Array[],
  baselines: Float32Array[],
  inputs: T[],
  chunks: number,
  streams: number,
  search: (inputs: T[]) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < chunks) {
      next++;
      const ids = scorer.addImages(
        inputs.map((inp) => images[inp.image]),
        inputs.map((inp) => baselines[inp.image]),
      );
      await search(inputs.map((inp, k) => ({ ...inp, image: ids[k] })));
      scorer.removeImages(ids);
    }
  };
  await Promise.all(Array.from({ length: streams }, worker));
}

/** A bare-model session timing pre-composed batches of the scorer's size: the raw figure. */
async function rawTimer(
  path: string,
  images: Float32Array[],
  baselines: Float32Array[],
  batch: number,
) {
  const { session } = await createSession(path);
  const chw = images[0].length, side = Math.round(Math.sqrt(chw));
  const up = new Upsampler(7, 7, side, side, "bilinear");
  const rng = new Rng(3);
  const x = new Float32Array(batch * chw);
  for (let k = 0; k < batch; k++) {
    const m = Float32Array.from({ length: 49 }, () => (rng.next() < 0.5 ? 1 : 0));
    compose(
      images[k % images.length],
      baselines[k % images.length],
      up.apply(m),
      1,
      x.subarray(k * chw, (k + 1) * chw),
    );
  }
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", x, [batch, 1, side, side]) };
  await session.run(feeds);
  return {
    /** Masks per second over about `ms` milliseconds. */
    async rate(ms: number): Promise<number> {
      let runs = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < ms || runs < 5) {
        await session.run(feeds);
        runs++;
      }
      return (runs * batch) / ((performance.now() - t0) / 1000);
    },
    release: () => session.release(),
  };
}

/**
 * Scorer masks/s of `phase` against raw masks/s, in `rounds` alternations (raw, phase), so that
 * machine noise falls on both sides; the ratio is of the two means.
 */
async function interleaved(
  raw: { rate(ms: number): Promise<number> },
  scorer: OnnxScorer,
  rounds: number,
  rawMs: number,
  phase: () => Promise<unknown>,
) {
  let rawSum = 0, scorerSum = 0, busySum = 0, fillSum = 0;
  for (let r = 0; r < rounds; r++) {
    rawSum += await raw.rate(rawMs);
    scorer.resetStats();
    const t0 = performance.now();
    await phase();
    const st = scorer.stats();
    scorerSum += st.masks / ((performance.now() - t0) / 1000);
    busySum += st.utilisation;
    fillSum += st.meanBatchFill;
  }
  const rawRate = rawSum / rounds, rate = scorerSum / rounds;
  return {
    rawMasksPerSecond: Math.round(rawRate),
    masksPerSecond: Math.round(rate),
    utilisation: +(rate / rawRate).toFixed(3),
    /** Share of the phase inside session runs, and mean batch fill (Scorer stats). */
    insideRuns: +(busySum / rounds).toFixed(3),
    meanBatchFill: +(fillSum / rounds).toFixed(3),
    rounds,
  };
}

const results: Record<string, unknown> = { date: new Date().toISOString(), models: {} };
const ds = listFolderWithLabels("data/fashion-sample", "data/fashion-sample/labels.csv");
for (const id of values.models!.split(",")) {
  const path = `zoo/models/${id}.onnx`;
  const card = JSON.parse(await Deno.readTextFile(`zoo/models/${id}.json`));
  const M = Math.max(N, NC);
  const files = Array.from({ length: M }, (_, k) => ds.items[(k * 61) % ds.items.length].file);
  const { ok } = await loadImages(files, optionsFromCard(card.preprocess, path));
  const images = ok.map((o) => o.image), baselines = ok.map((o) => o.baseline);
  const grad = await createGradientModel(path, { target: "prob" });
  const x = new Float32Array(M * 784);
  images.forEach((im, k) => x.set(im, k * 784));
  const { logits } = await grad.logits(x, M);
  const cls = images.map((_, k) => {
    let b = 0;
    for (let c = 1; c < 10; c++) if (logits[k * 10 + c] > logits[k * 10 + b]) b = c;
    return b;
  });
  const scorer = await OnnxScorer.create(path, images, baselines, {
    batchSize: Number(values.batch),
  });
  const batch = scorer.batchSize;
  const full = await scorer.score(
    images.map((_, k) => ({ image: k, cls: cls[k], mask: new Float32Array(49).fill(1) })),
  );
  const inputs = images.slice(0, N).map((_, k) => ({ image: k, cls: cls[k], pFull: full[k] }));
  const raw = await rawTimer(path, images, baselines, batch);
  const mse = await interleaved(
    raw,
    scorer,
    3,
    1500,
    () => runMseSearch(inputs, scorer, { ...mseDefaults, candidates: { kind: "all" } }),
  );
  // The paper preset's pool: the top 15 patches of each image's 7x7 I-GOS mask (not timed).
  const igosMasks = (await igos7(
    inputs.map((_, k) => ({ image: images[k], baseline: baselines[k], cls: cls[k], id: k })),
    grad,
    { maskSize: 7 },
  )).masks;
  const topq = inputs.map((inp, k) => ({ ...inp, igosMask: igosMasks[k] }));
  const msePaper = await interleaved(
    raw,
    scorer,
    3,
    1500,
    () => runMseSearch(topq, scorer, { ...mseDefaults }),
  );
  const msePaperStreamed = await interleaved(
    raw,
    scorer,
    3,
    1500,
    () =>
      streamedChunks(
        scorer,
        images,
        baselines,
        topq,
        CHUNKS,
        2,
        (chunk) => runMseSearch(chunk, scorer, { ...mseDefaults }),
      ),
  );
  const rng = new Rng(5);
  const heatmaps = images.slice(0, NC).map((_, k) => ({
    image: k,
    cls: cls[k],
    heatmap: Float32Array.from({ length: 784 }, () => rng.next()),
  }));
  const cross = await interleaved(raw, scorer, 6, 600, () => insertionCurves(heatmaps, scorer));
  await raw.release();

  const evals = await countEvaluations(scorer, topq);
  await scorer.release();
  const items = ok.slice(0, 4).map((o, k) => ({
    image: o.image,
    baseline: o.baseline,
    cls: cls[k],
    id: k,
  }));
  const igosPaper = await benchIgos(grad, items, {});
  const igosZoo = await benchIgos(grad, items, { iterations: 10, steps: 10 });
  await grad.release();
  const g = await benchGrad(path);
  (results.models as Record<string, unknown>)[id] = {
    batchSize: batch,
    mseSearch: { images: N, candidates: "all", ...mse },
    mseSearchPaperPreset: { images: N, candidates: "igos-topq 15", ...msePaper },
    mseSearchPaperPresetStreamed: {
      images: N,
      chunks: CHUNKS,
      streams: 2,
      candidates: "igos-topq 15",
      ...msePaperStreamed,
    },
    crossTest: { images: NC, ...cross },
    subtreeEvaluationsPerImage: {
      withMemo: Math.round(evals.withMemo),
      withoutSharing: Math.round(evals.withoutSharing),
      ratio: +evals.ratio.toFixed(2),
      medianRatio: +evals.medianRatio.toFixed(2),
      mseCount: +evals.mseCount.toFixed(2),
    },
    igosSecondsPerImage: {
      paperPreset: +igosPaper.secondsPerImage.toFixed(2),
      zooConfig: +igosZoo.secondsPerImage.toFixed(2),
    },
    gradient: {
      batch: g.batch,
      forwardMsPerImage: +g.forwardMsPerImage.toFixed(3),
      gradMsPerImage: +g.gradMsPerImage.toFixed(3),
      ratio: +g.ratio.toFixed(2),
    },
  };
  console.error(`${id}: done`);
}
const text = JSON.stringify(results, null, 2);
console.log(text);
await Deno.writeTextFile("bench/zoo-results.json", text + "\n");
