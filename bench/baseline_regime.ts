/**
 * The baseline regime (issue 22, part 1): how much of the class the baseline alone keeps,
 * r(∅) = p_B(ĉ) / p_I(ĉ). The paper's MSEs assume a baseline that removes the class; where r(∅)
 * already exceeds Ph the search has nothing to find ("baseline suffices"), and where it is merely
 * high every MSE only has to add a little.
 * - `imagenet`: the shared MobileNetV2 on the 300 shared ImageNet images with the paper's blur
 *   (51 x 51, sigma 50 at 224 px): the regime the paper works in.
 * - `sweep`: the zoo (configs/default.json: 16 models, 500 images) under 28 px blurs given as
 *   fractions of the side (kernel x sigma grid), the paper's scaled blur and the zero baseline:
 *   per model mean r(∅) and the share of images at or above Ph. The blur with the lowest mean
 *   r(∅) over the zoo is the `chosen` one.
 * - `gain-imagenet`: MSE sets on MobileNetV2 under the paper's ratio and the gain-normalised one
 *   (explain/memo.ts) on the first `--mse-images` images, from one shared set of evaluations.
 * - `gain-zoo`: Table 1 means per zoo model under both ratios with the chosen blur, on the first
 *   `--zoo-images` images (candidates `all`: no I-GOS pool, so both rules see the same search).
 * Prints JSON and writes it to bench/baseline-regime.json (or `--out`).
 *
 *   deno run -A bench/baseline_regime.ts [--parts imagenet,sweep,gain-imagenet,gain-zoo]
 *     [--mse-images 20] [--zoo-images 20] [--kernels 0.25,0.5,1,1.5,2] [--sigmas 0.05,...,1]
 *     [--out bench/baseline-regime.json]
 */
import { parseArgs } from "node:util";
import { configSchema } from "../configs/schema.ts";
import { defaults as mseDefaults, type MseOptions } from "../explain/beam_search.ts";
import { Memo } from "../explain/memo.ts";
import {
  type ImageInput,
  type MseImageResult,
  runMseSearch,
  runSubtreeCount,
  table1Row,
} from "../explain/mse_run.ts";
import { summarisePredictions } from "../explain/predictions.ts";
import { mean, quantile } from "../explain/stats.ts";
import { defaults as subtreeDefaults } from "../explain/subtree.ts";
import { type BlurFractions, blurSpec } from "../runtime/blur.ts";
import { listFolderWithLabels } from "../runtime/datasets.ts";
import { Forward } from "../runtime/forward.ts";
import { loadImages } from "../runtime/images.ts";
import type { PreprocessOptions } from "../runtime/preprocess_options.ts";
import { OnnxScorer } from "../runtime/onnx_scorer.ts";
import { type BaselineChoice, type ModelEntry, resolveModels } from "../runtime/registry.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    parts: { type: "string", default: "imagenet,sweep,gain-imagenet,gain-zoo" },
    "mse-images": { type: "string", default: "20" },
    "zoo-images": { type: "string", default: "20" },
    kernels: { type: "string", default: "0.25,0.5,1,1.5,2" },
    sigmas: { type: "string", default: "0.05,0.1,0.2,0.35,0.5,1" },
    out: { type: "string", default: "bench/baseline-regime.json" },
  },
});
const parts = new Set(values.parts.split(","));
const PH = mseDefaults.ph;
const SHARED = "../shared";
const MOBILENET = `${SHARED}/models/mobilenetv2-12-int8.onnx`;
const IMAGENET = `${SHARED}/data/imagenet-sample`;

/** The distribution of r(∅) over one model's images. */
export interface RegimeStats {
  images: number;
  mean: number;
  median: number;
  q10: number;
  q25: number;
  q75: number;
  q90: number;
  max: number;
  /** Shares of images: r(∅) ≥ Ph ("baseline suffices"), > 0.5, ≥ 0.99 and ≥ 1 (p(∅) ≥ p(I)). */
  atLeastPh: number;
  above05: number;
  atLeast099: number;
  atLeast1: number;
}

export function regimeStats(r: readonly number[]): RegimeStats {
  const s = Float64Array.from(r).sort();
  const share = (f: (x: number) => boolean) => r.filter(f).length / Math.max(1, r.length);
  return {
    images: r.length,
    mean: mean(s),
    median: quantile(s, 0.5),
    q10: quantile(s, 0.1),
    q25: quantile(s, 0.25),
    q75: quantile(s, 0.75),
    q90: quantile(s, 0.9),
    max: s[s.length - 1] ?? NaN,
    atLeastPh: share((x) => x >= PH),
    above05: share((x) => x > 0.5),
    atLeast099: share((x) => x >= 0.99),
    atLeast1: share((x) => x >= 1),
  };
}

/** Images and baselines of one preprocessing, as the preprocess stage makes them. */
async function load(files: string[], pre: PreprocessOptions) {
  const { ok, errors } = await loadImages(files, pre, { concurrency: 4 });
  if (errors.length) throw new Error(`${errors.length} images failed: ${errors[0].error}`);
  return { images: ok.map((o) => o.image), baselines: ok.map((o) => o.baseline) };
}

/** ĉ, p(ĉ) and r(∅) per image, as infer-baselines computes them. */
async function emptyRatios(
  f: Forward,
  images: Float32Array[],
  baselines: Float32Array[],
  labels: (number | null)[],
  full?: Float32Array,
) {
  const probsFull = full ?? (await f.run(images)).probs!;
  const blurred = (await f.run(baselines)).probs!;
  const s = summarisePredictions(probsFull, blurred, f.classes, labels, 1);
  return {
    probsFull,
    perImage: s.perImage.map((p) => ({ cls: p.pred, pFull: p.pFull, r0: p.blurPred / p.pFull })),
    top1: s.top1,
  };
}

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;
const roundAll = <T>(o: T): T =>
  JSON.parse(JSON.stringify(o, (_, v) => (typeof v === "number" ? round(v) : v)));
const out: Record<string, unknown> = { ph: PH };

// (a) The paper's regime: MobileNetV2 on ImageNet with the paper's blur.
const imagenetSpec = async () => {
  const entry: ModelEntry = {
    id: "mobilenetv2",
    onnx: MOBILENET,
    preprocess: {},
    optional: false,
  };
  return (await resolveModels([entry], "blur")).models[0];
};
const imagenetData = async () => {
  const ds = listFolderWithLabels(`${IMAGENET}/images`, `${IMAGENET}/labels.tsv`);
  const spec = await imagenetSpec();
  const data = await load(ds.items.map((it) => it.file), spec.preprocess);
  return { ds, spec, ...data };
};
let imagenet: Awaited<ReturnType<typeof imagenetData>> | undefined;
let imagenetRatios: Awaited<ReturnType<typeof emptyRatios>> | undefined;
if (parts.has("imagenet") || parts.has("gain-imagenet")) {
  const t0 = performance.now();
  imagenet = await imagenetData();
  const f = await Forward.create(MOBILENET, { batchSize: 32, probs: true, topK: 1 });
  try {
    imagenetRatios = await emptyRatios(
      f,
      imagenet.images,
      imagenet.baselines,
      imagenet.ds.items.map((it) => it.label),
    );
  } finally {
    await f.release();
  }
  out.imagenet = {
    model: MOBILENET,
    images: imagenet.images.length,
    blur: "paper (51 x 51, sigma 50 at 224 px)",
    top1: imagenetRatios.top1,
    r0: regimeStats(imagenetRatios.perImage.map((p) => p.r0)),
    seconds: (performance.now() - t0) / 1000,
  };
  console.error(`imagenet: ${JSON.stringify(roundAll(out.imagenet))}`);
}

// (b) The zoo under a sweep of 28 px blurs.
const config = configSchema.parse(
  JSON.parse(await Deno.readTextFile("configs/default.json")),
  "configs/default.json",
);
const zooEntries = config.models as ModelEntry[];
const zooData = listFolderWithLabels(config.dataset.dir, config.dataset.labels!);
const zooFiles = zooData.items.map((it) => it.file);
const zooLabels = zooData.items.map((it) => it.label);

interface SweepRow {
  baseline: string;
  blur: BlurFractions | "paper" | "zero";
  /** Pixels at 28 px. */
  kernel?: number;
  sigma?: number;
  /** Over all models: mean of the per-model mean r(∅), and the shares at or above Ph. */
  meanR0: number;
  meanAtLeastPh: number;
  maxAtLeastPh: number;
  meanAtLeast1: number;
  /** Per true class, the share of its images (over all models) with r(∅) ≥ Ph. */
  atLeastPhByClass: Record<string, number>;
  perModel: Record<string, RegimeStats>;
}

let chosen: BlurFractions | undefined;
if (parts.has("sweep") || parts.has("gain-zoo")) {
  const t0 = performance.now();
  const kernels = values.kernels.split(",").map(Number);
  const sigmas = values.sigmas.split(",").map(Number);
  const choices: { label: string; blur: SweepRow["blur"]; baseline: BaselineChoice }[] = [
    { label: "paper", blur: "paper", baseline: "blur" },
    { label: "zero", blur: "zero", baseline: "zero" },
  ];
  if (parts.has("sweep")) {
    for (const k of kernels) {
      for (const s of sigmas) {
        const blur = { kernelFraction: k, sigmaFraction: s };
        choices.push({ label: `k${k}/s${s}`, blur, baseline: { blur } });
      }
    }
  }
  const specs = (await resolveModels(zooEntries, "blur")).models;
  const classNames = (specs[0].card?.classes as string[] | undefined) ??
    Array.from({ length: specs[0].classes }, (_, c) => String(c));
  const forwards = await Promise.all(
    specs.map((m) => Forward.create(m.onnx, { batchSize: 250, probs: true, topK: 1 })),
  );
  const full = await load(zooFiles, specs[0].preprocess);
  const fullProbs: Float32Array[] = [];
  for (const f of forwards) fullProbs.push((await f.run(full.images)).probs!);
  const rows: SweepRow[] = [];
  try {
    for (const c of choices) {
      const spec = (await resolveModels([zooEntries[0]], c.baseline)).models[0];
      const { baselines } = await load(zooFiles, spec.preprocess);
      const perModel: Record<string, RegimeStats> = {};
      const suffices = new Map<number, number>();
      for (const [i, f] of forwards.entries()) {
        const r = await emptyRatios(f, full.images, baselines, zooLabels, fullProbs[i]);
        perModel[specs[i].id] = regimeStats(r.perImage.map((p) => p.r0));
        r.perImage.forEach((p, k) => {
          if (p.r0 >= PH) suffices.set(zooLabels[k]!, (suffices.get(zooLabels[k]!) ?? 0) + 1);
        });
      }
      const atLeastPhByClass = Object.fromEntries(
        classNames.map((name, c) => [
          name,
          (suffices.get(c) ?? 0) / (forwards.length * zooLabels.filter((l) => l === c).length),
        ]),
      );
      const stats = Object.values(perModel);
      const px = c.blur === "zero" ? undefined : blurSpec(spec.preprocess.blur, 28);
      rows.push({
        baseline: c.label,
        blur: c.blur,
        kernel: px?.size,
        sigma: px?.sigma,
        meanR0: mean(stats.map((s) => s.mean)),
        meanAtLeastPh: mean(stats.map((s) => s.atLeastPh)),
        maxAtLeastPh: Math.max(...stats.map((s) => s.atLeastPh)),
        meanAtLeast1: mean(stats.map((s) => s.atLeast1)),
        atLeastPhByClass,
        perModel,
      });
      const last = rows[rows.length - 1];
      console.error(
        `sweep ${c.label}: mean r0 ${round(last.meanR0)}, >= Ph ${round(last.meanAtLeastPh)} ` +
          `(worst model ${round(last.maxAtLeastPh)})`,
      );
    }
  } finally {
    for (const f of forwards) await f.release();
  }
  const blurs = rows.filter((r) => typeof r.blur === "object");
  const best = blurs.reduce((a, b) => (b.meanR0 < a.meanR0 ? b : a), blurs[0]);
  chosen = best ? best.blur as BlurFractions : undefined;
  const fewestSuffice = blurs.reduce(
    (a, b) => (b.meanAtLeastPh < a.meanAtLeastPh ? b : a),
    blurs[0],
  );
  out.sweep = {
    images: zooFiles.length,
    models: specs.map((m) => m.id),
    rows,
    chosen: best ? { blur: best.blur, meanR0: best.meanR0, maxAtLeastPh: best.maxAtLeastPh } : null,
    fewestBaselineSuffices: fewestSuffice
      ? { blur: fewestSuffice.blur, meanAtLeastPh: fewestSuffice.meanAtLeastPh }
      : null,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * MSE searches (and, with `trees`, sub-explanation counts) of some images under the paper's ratio,
 * then under the gain ratio over memos holding the paper run's evaluations.
 */
async function bothRules(
  scorer: OnnxScorer,
  images: ImageInput[],
  mse: MseOptions,
  trees: boolean,
) {
  const run = async (ratio: "paper" | "gain", from?: Memo[]) => {
    const memos = from?.map((m, k) =>
      Memo.from(scorer, { ...m.info, ratio }, m.export(), `image ${images[k].image}`)
    );
    const { results, memos: ms } = await runMseSearch(images, scorer, { ...mse, ratio }, memos);
    const sub = trees ? await runSubtreeCount(results, ms, subtreeDefaults, 0) : undefined;
    return { results, memos: ms, sub };
  };
  const paper = await run("paper");
  const gain = await run("gain", paper.memos);
  return { paper, gain };
}

/** How far two searches of one image agree: identical MSE sets, and their Jaccard overlap. */
function agreement(a: MseImageResult, b: MseImageResult) {
  const key = (m: { patches: number[] }) => m.patches.join(",");
  const sa = new Set(a.mses.map(key)), sb = new Set(b.mses.map(key));
  const both = [...sa].filter((x) => sb.has(x)).length;
  const union = sa.size + sb.size - both;
  return { same: both === sa.size && both === sb.size, jaccard: union ? both / union : 1 };
}

// (c) The gain ratio on MobileNetV2: do the MSE sets agree with the paper's?
if (parts.has("gain-imagenet") && imagenet && imagenetRatios) {
  const t0 = performance.now();
  const n = Math.min(Number(values["mse-images"]), imagenet.images.length);
  const scorer = await OnnxScorer.create(
    MOBILENET,
    imagenet.images.slice(0, n),
    imagenet.baselines.slice(0, n),
    { batchSize: 32 },
  );
  try {
    const images = imagenetRatios.perImage.slice(0, n).map((p, k) => ({
      image: k,
      cls: p.cls,
      pFull: p.pFull,
    }));
    const mse: MseOptions = { ...mseDefaults, candidates: { kind: "all" } };
    const { paper, gain } = await bothRules(scorer, images, mse, false);
    const per = paper.results.map((p, k) => {
      const g = gain.results[k];
      return {
        image: imagenet!.ds.items[k].id,
        r0: p.emptyRatio,
        baselineSuffices: p.baselineSuffices,
        paper: { count: p.count, meanSize: p.meanSize, evaluations: p.evaluations },
        gain: { count: g.count, meanSize: g.meanSize, evaluations: g.evaluations },
        ...agreement(p, g),
      };
    });
    out.gainImagenet = {
      images: n,
      candidates: "all",
      identicalSets: per.filter((p) => p.same).length,
      meanJaccard: mean(per.map((p) => p.jaccard)),
      paperMseCount: mean(per.map((p) => p.paper.count)),
      gainMseCount: mean(per.map((p) => p.gain.count)),
      paperMseSize: mean(per.filter((p) => p.paper.count).map((p) => p.paper.meanSize)),
      gainMseSize: mean(per.filter((p) => p.gain.count).map((p) => p.gain.meanSize)),
      paperEvaluations: mean(per.map((p) => p.paper.evaluations)),
      gainExtraEvaluations: mean(per.map((p) => p.gain.evaluations)),
      perImage: per,
      seconds: (performance.now() - t0) / 1000,
    };
    console.error(
      `gain-imagenet: ${
        JSON.stringify(roundAll({ ...out.gainImagenet as object, perImage: undefined }))
      }`,
    );
  } finally {
    await scorer.release();
  }
}

// (d) Both ratios on the zoo under the chosen blur: what Table 1 would say.
if (parts.has("gain-zoo") && chosen) {
  const t0 = performance.now();
  const n = Math.min(Number(values["zoo-images"]), zooFiles.length);
  const specs = (await resolveModels(zooEntries, { blur: chosen })).models;
  const data = await load(zooFiles.slice(0, n), specs[0].preprocess);
  const models: Record<string, unknown> = {};
  for (const m of specs) {
    const f = await Forward.create(m.onnx, { batchSize: 250, probs: true, topK: 1 });
    let pred;
    try {
      pred = await emptyRatios(f, data.images, data.baselines, zooLabels.slice(0, n));
    } finally {
      await f.release();
    }
    const scorer = await OnnxScorer.create(m.onnx, data.images, data.baselines, {
      batchSize: 128,
    });
    try {
      const images = pred.perImage.map((p, k) => ({ image: k, cls: p.cls, pFull: p.pFull }));
      const mse: MseOptions = { ...mseDefaults, candidates: { kind: "all" } };
      const { paper, gain } = await bothRules(scorer, images, mse, true);
      const row = (r: typeof paper) =>
        table1Row(
          r.results.map((x, k) => ({ ...x, subtree: r.sub![k].subtree })),
          { samples: 200 },
        );
      const [rp, rg] = [row(paper), row(gain)];
      const brief = (r: typeof rp) => ({
        images: r.images,
        baselineSuffices: r.baselineSuffices,
        mseCount: r.mse_count.mean,
        mseSize: r.mse_size.mean,
        sub80: r.tree.sub_ge80.mean,
        sub50: r.tree.sub_ge50.mean,
      });
      models[m.id] = {
        paper: brief(rp),
        gain: brief(rg),
        identicalSets: paper.results.filter((p, k) => agreement(p, gain.results[k]).same).length,
      };
      console.error(`gain-zoo ${m.id}: ${JSON.stringify(roundAll(models[m.id]))}`);
    } finally {
      await scorer.release();
    }
  }
  out.gainZoo = {
    blur: chosen,
    images: n,
    candidates: "all",
    models,
    seconds: (performance.now() - t0) / 1000,
  };
}

const json = JSON.stringify(roundAll(out), null, 2);
console.log(json);
await Deno.writeTextFile(values.out, json + "\n");
