/**
 * The cost model behind `xcompare plan`: how many model evaluations (forward rows, and gradient
 * rows for iGOS) each stage needs for a config, and how many hours that is at a given throughput.
 * Pure: the verb supplies the parsed stage params, measured per-image averages and rates.
 */
import { occlusionDefaults } from "../../explain/saliency.ts";

export interface PlanOptions {
  /** Beam-search forward rows per image and model (with I-GOS 7x7's), when nothing is measured. */
  mseEvalsPerImage: number;
  /** Sub-explanation tree rows per image and model not already in the memo, when unmeasured. */
  subtreeEvalsPerImage: number;
  /** Armijo line-search trials per I-GOS iteration, when unmeasured. */
  lineSearchTrials: number;
  /** Cost of one gradient row in forward rows (forward + backward through the model). */
  gradientCost: number;
  /** Forward rows per second assumed for a model that is neither measured nor in a file. */
  masksPerSecond: number;
}

/**
 * Documented defaults. mse: 5 beam states x 15 candidates per level over ~8 levels plus
 * minimisation; subtree: Table 1's trees hold ~250-7,300 nodes with r >= 0.5 per image (about
 * 3,000 on average), each expanded node scores up to 3 children, shared subsets once;
 * trials: alpha from 1000 by x0.2 to the Armijo point; gradientCost: backward ~2x forward.
 */
export const defaults: PlanOptions = {
  mseEvalsPerImage: 800,
  subtreeEvalsPerImage: 2000,
  lineSearchTrials: 8,
  gradientCost: 3,
  masksPerSecond: 50,
};

/** Parsed stage params the model reads (the stages' own schemas supply defaults). */
export interface PlanParams {
  "mse-search": {
    images: number;
    grid: number;
    beamWidth: number;
    candidates: string;
    igosIterations: number;
    igosSteps: number;
  };
  "igos-heatmaps": {
    images: number;
    method: string;
    maskSize: number;
    iterations: number;
    steps: number;
    riseMasks: number;
  };
  "cross-test": { images: number; cellsPerStep: number; deletion: boolean };
}

/** A per-image average, and where it came from. */
export interface Measured {
  value: number;
  source: string;
}

export interface PlanInput {
  models: string[];
  /** Dataset images (after `first`). */
  images: number;
  chunk: number;
  params: PlanParams;
  measured: {
    mseEvalsPerImage?: Measured;
    mseGradientsPerImage?: Measured;
    subtreeEvalsPerImage?: Measured;
    lineSearchTrials?: Measured;
  };
}

export interface StageEstimate {
  stage: string;
  units: number;
  images: number;
  /** Forward rows per model (the model that runs them). */
  forward: Record<string, number>;
  gradient: Record<string, number>;
  /** How the counts were derived. */
  basis: string;
}

const chunks = (n: number, size: number) => Math.ceil(n / size);
const limit = (n: number, total: number) => (n > 0 ? Math.min(n, total) : total);
const each = (models: string[], v: number) => Object.fromEntries(models.map((m) => [m, v]));
const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/** Forward and gradient rows per image of one I-GOS run (`terms` 4 for iGOS++, 1 for I-GOS). */
export function igosRows(
  iterations: number,
  steps: number,
  terms: number,
  trials: number,
): { forward: number; gradient: number } {
  // Per iteration: gradients of every term, L(old) once, then `trials` line-search evaluations.
  return {
    gradient: iterations * terms * steps,
    forward: iterations * (1 + trials) * terms * steps,
  };
}

/** Insertion/deletion curve points for a heatmap of maskSize² cells revealed cellsPerStep a step. */
export function curvePoints(maskSize: number, cellsPerStep: number): number {
  return Math.ceil((maskSize * maskSize) / cellsPerStep) + 1;
}

/** Evaluations per stage for the config described by `input`. */
export function estimateEvaluations(
  input: PlanInput,
  options: Partial<PlanOptions> = {},
): StageEstimate[] {
  const o = { ...defaults, ...options };
  const { models, images, chunk, params, measured } = input;
  const m = models.length;
  const trials = measured.lineSearchTrials?.value ?? o.lineSearchTrials;
  const trialsBasis = measured.lineSearchTrials
    ? `${trials.toFixed(1)} line-search trials/iteration (${measured.lineSearchTrials.source})`
    : `${trials} line-search trials/iteration (assumed)`;
  const out: StageEstimate[] = [];

  out.push({
    stage: "preprocess",
    units: chunks(images, chunk),
    images,
    forward: each(models, 0),
    gradient: each(models, 0),
    basis: "image decoding only (CPU), per preprocessing group; no model evaluations",
  });
  out.push({
    stage: "infer-baselines",
    units: m,
    images,
    forward: each(models, 2 * images),
    gradient: each(models, 0),
    basis: "2 rows per image and model (full image, blurred image)",
  });

  const mse = params["mse-search"];
  const mseImages = limit(mse.images, images);
  let mseGrad = 0, mseFwd: number, mseBasis: string;
  if (measured.mseEvalsPerImage) {
    mseFwd = measured.mseEvalsPerImage.value;
    mseGrad = measured.mseGradientsPerImage?.value ?? 0;
    mseBasis = `${mseFwd.toFixed(0)} forward + ${
      mseGrad.toFixed(0)
    } gradient rows/image (${measured.mseEvalsPerImage.source})`;
  } else {
    mseFwd = o.mseEvalsPerImage;
    mseBasis = `${mseFwd} beam-search rows/image (assumed)`;
    if (mse.candidates === "igos-topq") {
      const r = igosRows(mse.igosIterations, mse.igosSteps, 1, trials);
      mseFwd += r.forward;
      mseGrad = r.gradient;
      mseBasis +=
        ` + I-GOS 7x7 ${r.forward} forward, ${r.gradient} gradient rows/image (${mse.igosIterations} iterations x ${mse.igosSteps} steps, ${trialsBasis})`;
    }
  }
  out.push({
    stage: "mse-search",
    units: m * chunks(mseImages, chunk),
    images: mseImages,
    forward: each(models, mseFwd * mseImages),
    gradient: each(models, mseGrad * mseImages),
    basis: mseBasis,
  });

  const sub = measured.subtreeEvalsPerImage?.value ?? o.subtreeEvalsPerImage;
  out.push({
    stage: "subtree-count",
    units: m * chunks(mseImages, chunk),
    images: mseImages,
    forward: each(models, sub * mseImages),
    gradient: each(models, 0),
    basis: `${sub.toFixed(0)} rows/image not already in the beam's memo (${
      measured.subtreeEvalsPerImage?.source ?? "assumed"
    })`,
  });

  const ig = params["igos-heatmaps"];
  const igImages = limit(ig.images, images);
  let igRows: { forward: number; gradient: number }, igBasis: string;
  switch (ig.method) {
    case "igos++":
      igRows = igosRows(ig.iterations, ig.steps, 4, trials);
      igBasis = `iGOS++ ${ig.iterations} iterations x (4 terms x ${ig.steps} steps) gradient ` +
        `rows + (1 + trials) x 4 x ${ig.steps} forward rows per iteration, ${trialsBasis}`;
      break;
    case "rise":
      igRows = { forward: ig.riseMasks, gradient: 0 };
      igBasis = `RISE: ${ig.riseMasks} masks/image`;
      break;
    case "occlusion": {
      const { window, stride } = occlusionDefaults;
      const k = Math.floor((ig.maskSize - window) / stride) + 1 +
        ((ig.maskSize - window) % stride ? 1 : 0);
      igRows = { forward: k * k + 1, gradient: 0 };
      igBasis = `occlusion: ${k}² windows (${window} cells, stride ${stride}) + 1 rows/image`;
      break;
    }
    default:
      igRows = { forward: 0, gradient: 1 };
      igBasis = "plain gradient: 1 gradient row/image";
  }
  out.push({
    stage: "igos-heatmaps",
    units: m * chunks(igImages, chunk),
    images: igImages,
    forward: each(models, igRows.forward * igImages),
    gradient: each(models, igRows.gradient * igImages),
    basis: igBasis,
  });

  const ct = params["cross-test"];
  const ctImages = Math.min(limit(ct.images, images), chunks(igImages, chunk) * chunk, images);
  const points = curvePoints(ig.maskSize, ct.cellsPerStep);
  const curves = ct.deletion ? 2 : 1;
  out.push({
    stage: "cross-test",
    units: m * m * chunks(ctImages, chunk),
    images: ctImages,
    // Model B evaluates the heatmaps of all m models.
    forward: each(models, m * ctImages * curves * points),
    gradient: each(models, 0),
    basis: `models² x images x ${curves} curves x ${points} points`,
  });
  out.push({
    stage: "kpca",
    units: 1,
    images: 0,
    forward: each(models, 0),
    gradient: each(models, 0),
    basis: "matrix algebra only",
  });
  out.push({
    stage: "report",
    units: 1,
    images: 0,
    forward: each(models, 0),
    gradient: each(models, 0),
    basis: "bootstrap and rendering only",
  });
  return out;
}

export const totalForward = (s: StageEstimate) => sum(s.forward);
export const totalGradient = (s: StageEstimate) => sum(s.gradient);

/** Hours of one stage, each model's rows at its own rate (forward rows per second). */
export function stageHours(
  s: StageEstimate,
  rate: (model: string) => number,
  gradientCost = defaults.gradientCost,
): number {
  let seconds = 0;
  for (const m of Object.keys(s.forward)) {
    const rows = s.forward[m] + gradientCost * (s.gradient[m] ?? 0);
    if (rows > 0) seconds += rows / rate(m);
  }
  return seconds / 3600;
}

/** A `--throughput` file: forward masks/s per model id, a default, and the device it is for. */
export interface ThroughputFile {
  device: string;
  rates: Record<string, number>;
  default?: number;
  gradientCost?: number;
}

/** Parses a throughput JSON file's contents; errors name the file and key. */
export function parseThroughput(raw: unknown, path: string): ThroughputFile {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error(`${path}: expected an object of masks/s per model id`);
  }
  const out: ThroughputFile = { device: "unnamed device", rates: {} };
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (k.startsWith("//") || k === "$comment" || k === "notes") continue;
    if (k === "device") {
      if (typeof v !== "string") throw new Error(`${path}: device: expected a string`);
      out.device = v;
      continue;
    }
    if (typeof v !== "number" || !(v > 0)) {
      throw new Error(
        `${path}: ${k}: expected a positive number (masks/s), got ${JSON.stringify(v)}`,
      );
    }
    if (k === "default") out.default = v;
    else if (k === "gradientCost") out.gradientCost = v;
    else out.rates[k] = v;
  }
  return out;
}

/** One unit's manifest, as much of it as the averages need. */
export interface ManifestSample {
  stage: string;
  model: string;
  images: number;
  counters: Record<string, number>;
  /** mse-search and subtree-count: the search params; igos-heatmaps: the heatmap params. */
  params: Record<string, unknown>;
}

/**
 * Per-image averages from finished units (artifacts/<stage>/<key>/manifest.json), preferring units
 * whose search settings match the planned ones; null fields when nothing was measured.
 */
export function averagesFrom(
  samples: ManifestSample[],
  params: PlanParams,
): PlanInput["measured"] {
  const out: PlanInput["measured"] = {};
  const avg = (xs: ManifestSample[], counter: string) => {
    const n = xs.reduce((a, x) => a + x.images, 0);
    return n > 0 ? xs.reduce((a, x) => a + (x.counters[counter] ?? 0), 0) / n : null;
  };
  const describe = (xs: ManifestSample[]) => {
    const models = [...new Set(xs.map((x) => x.model))];
    return `measured over ${xs.reduce((a, x) => a + x.images, 0)} images of ${
      models.slice(0, 4).join(", ")
    }${models.length > 4 ? ` and ${models.length - 4} more` : ""} in the store`;
  };
  // Beam-search and subtree costs depend on the search settings: only matching units count.
  const p = params["mse-search"];
  const same = (s: ManifestSample) =>
    s.params.candidates === p.candidates && s.params.grid === p.grid &&
    s.params.beamWidth === p.beamWidth;
  const sameMse = samples.filter((s) => s.stage === "mse-search" && s.images > 0 && same(s));
  if (sameMse.length) {
    out.mseEvalsPerImage = { value: avg(sameMse, "modelEvals")!, source: describe(sameMse) };
    out.mseGradientsPerImage = {
      value: avg(sameMse, "gradientEvals")!,
      source: describe(sameMse),
    };
  }
  const sub = samples.filter((s) => s.stage === "subtree-count" && s.images > 0 && same(s));
  if (sub.length) {
    out.subtreeEvalsPerImage = { value: avg(sub, "modelEvals")!, source: describe(sub) };
  }
  // Line-search trials from iGOS++ units: forward = it x (1 + trials) x 4 x steps per image.
  const ig = samples.filter((s) =>
    s.stage === "igos-heatmaps" && s.images > 0 && s.params.method === "igos++" &&
    typeof s.params.iterations === "number" && typeof s.params.steps === "number"
  );
  if (ig.length) {
    let rows = 0, per = 0;
    for (const s of ig) {
      rows += s.counters.modelEvals ?? 0;
      per += s.images * (s.params.iterations as number) * 4 * (s.params.steps as number);
    }
    if (per > 0 && rows > 0) {
      out.lineSearchTrials = { value: Math.max(0, rows / per - 1), source: describe(ig) };
    }
  }
  return out;
}

/** `1234567` → `1,234,567`; hours with sensible precision. */
export const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US");
export function fmtHours(h: number | null): string {
  if (h === null) return "—";
  if (h === 0) return "0";
  if (h < 0.01) return "<0.01";
  return h < 10 ? h.toFixed(2) : h < 1000 ? h.toFixed(1) : fmtInt(h);
}
