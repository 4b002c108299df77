/**
 * The one shape the report renderer reads. The pipeline adapts its stage outputs to this type, so the
 * renderer never touches the artifact store and can be tested on a small JSON fixture.
 *
 * Every section except `run` is optional: a section renders only when it is present. Numbers are
 * plain JSON numbers; per-image arrays are aligned with `image_ids` when given.
 */
import type { BeamRule } from "../explain/beam_search.ts";

/** A mean with its 95% bootstrap interval over images. */
export interface Interval {
  mean: number;
  lo: number;
  hi: number;
}

/** The sub-explanation count thresholds of Table 1, as the strings used for keys. */
export const THRESHOLDS = ["0.8", "0.7", "0.6", "0.5"] as const;
export type Threshold = typeof THRESHOLDS[number];

/** Facts about a model's architecture that the mini-replication verdicts group by. */
export interface ModelTraits {
  /** Normalisation layers: batch norm, layer norm, group norm, or anything else. */
  norm: "bn" | "ln" | "gn" | "other";
  arch: "cnn" | "transformer" | "other";
  /** Trained with knowledge distillation (DeiT-S-dis, PiT-S-dis, LeViT). */
  distilled: boolean;
}

export interface ModelInfo {
  /** The model id used everywhere else in this input (tables, figures). */
  id: string;
  /** Display group (e.g. "older CNNs", "Transformers with distillation"). */
  group: string;
  sha256?: string;
  params?: number;
  /** Name of the matching row in the paper's Table 1 (e.g. "ResNet50"); guessed when absent. */
  paper_name?: string;
  traits?: ModelTraits;
}

export interface StageStat {
  stage: string;
  wall_s: number;
  units_computed: number;
  units_reused: number;
  model_evals: number;
}

export interface Provenance {
  /** The resolved config, as loaded. */
  config: unknown;
  models: ModelInfo[];
  onnxruntime_version?: string;
  execution_provider?: string;
  stages?: StageStat[];
  /** Every stage's parameters as the run resolved them (config values over defaults). */
  stage_params?: Record<string, Record<string, unknown>>;
}

export interface RunInfo {
  id: string;
  /** Config name, e.g. "default" (the zoo) or "paper". */
  config: string;
  /** ISO 8601 timestamp. */
  created: string;
}

export interface ModelAccuracy {
  model: string;
  /** Fractions in [0, 1]. */
  top1: number;
  top5?: number;
  /** Mean top-1 confidence on the original images (normalisation `t`). */
  t?: number;
  /** Mean top-1 confidence on fully blurred images (normalisation `b`). */
  b?: number;
  /** Mean confidence in ĉ on fully blurred images (`b` under kpca's `predicted-class`). */
  bPred?: number;
  images?: number;
  /** 95% percentile bootstrap intervals over the labelled images (fractions, like `top1`). */
  top1_ci?: { lo: number; hi: number };
  top5_ci?: { lo: number; hi: number };
}

export interface EnsembleResult {
  members: string[];
  /** Fraction in [0, 1]. */
  top1: number;
}

export interface AccuracySection {
  models: ModelAccuracy[];
  ensembles?: EnsembleResult[];
  /** The paper's claim, e.g. from paper-facts.json `ensemble` (percent values, as the paper prints). */
  paper_claim?: { members: Record<string, number>; average_of_softmax_top1: number };
}

/** Sub-explanation counts per threshold: `tree` (the paper's node count) and `unique`. */
export interface Counts<T> {
  tree: Partial<Record<Threshold, T>>;
  unique: Partial<Record<Threshold, T>>;
}

/** Per-image values behind a Table 1 row; each array has one entry per image. */
export interface PerImage {
  image_ids?: string[];
  mse_count: number[];
  /** Mean MSE size per image; `null` for an image where no MSE was found. */
  mse_size: (number | null)[];
  /** Sub-explanation counts per threshold, `tree` (paper's) and optionally `unique`. */
  tree: Partial<Record<Threshold, number[]>>;
  unique?: Partial<Record<Threshold, number[]>>;
  /** The counts with the trees' roots left out (proper subsets of the MSEs only). */
  proper?: Counts<number[]>;
}

export interface Table1Row {
  model: string;
  /** Images in the means (those where the baseline alone did not reach Ph). */
  images: number;
  /** Images left out of the means because the baseline alone reached Ph (explain/mse_run.ts). */
  baseline_suffices?: number;
  mse_count: Interval;
  mse_size: Interval;
  tree: Partial<Record<Threshold, Interval>>;
  unique?: Partial<Record<Threshold, Interval>>;
  /** `tree` and `unique` with the trees' roots (the MSEs) left out, whatever `counting` says. */
  proper?: Counts<Interval>;
  /** Needed for the verdicts (bootstrap over images); optional otherwise. */
  per_image?: PerImage;
}

/** What Table 1 counts, stated beside it (METHODS §1, §2). */
export interface Counting {
  /** The beam keeps this many distinct states per level (the reference: width + 1, repeats kept). */
  beam_width: number;
  /** `distinct` (ours; absent = this) or `reference` (width + 1 states, repeats kept). */
  beam?: BeamRule;
  ph: number;
  grid: number;
  /** mse-search's likelihood ratio: `paper` (p(S)/p(I)) or `gain`. */
  ratio: string;
  /** Whether `tree` and `unique` count each tree's root, the MSE itself (the paper's: yes). */
  roots_counted: boolean;
  /** Children of a tree node: `first3` (the reference) or `all`. */
  children: string;
  /** A tree node is expanded while r >= this. */
  expand_threshold: number;
}

/** One model's baseline regime: how much of the class the baseline alone keeps. */
export interface CalibrationRow {
  model: string;
  /** Images r(∅) was measured on (every image infer-baselines saw). */
  images: number;
  /** Mean r(∅) = p_B(ĉ) / p_I(ĉ) over those images. */
  mean_r0: number;
  /** Fraction of those images where r(∅) > Ph: the baseline alone suffices. */
  suffices: number;
  /** Images Table 1 searched, and how many of them the baseline sufficed for. */
  searched?: number;
  searched_suffices?: number;
}

/** A measured reference regime (bench/baseline-regime.json's ImageNet row), cited by file. */
export interface CalibrationReference {
  label: string;
  /** The file the figures come from. */
  source: string;
  model: string;
  baseline: string;
  images: number;
  mean_r0: number;
  /** Fraction of images at or above Ph (the bench's measure). */
  suffices: number;
}

export interface CalibrationSection {
  ph: number;
  /** The baseline-suffices rule, as stated in the config and METHODS. */
  rule: string;
  /** The run's baseline, in words. */
  baseline: string;
  models: CalibrationRow[];
  reference?: CalibrationReference;
}

/** A model of each normalisation in one architecture family (the paper's Table 2 ablation). */
export interface NormVariants {
  ln: string;
  gn?: string;
  bn?: string;
  /** The family's original model with the larger receptive field (ConvNeXt-T, Swin-T). */
  base?: string;
}

/** A Table 2 family: this run's models and the paper's rows they stand for. */
export interface NormAblation {
  family: string;
  models: NormVariants;
  paper?: NormVariants;
}

/**
 * The study's design, declared in the config before any data (stages.report.design): which of
 * this run's models stand for each of the paper's Table 1 groups and Table 2 rows. The verdicts
 * and the tables beside the paper read it.
 */
export interface StudyDesign {
  /** The paper's Table 1 group name -> this run's models in it. */
  table1?: Record<string, string[]>;
  normAblations?: NormAblation[];
}

/** A small image for figure tiles: row-major pixels 0..255, or a PNG/JPEG path read with sharp. */
export type TileImage =
  | { width: number; height: number; channels: 1 | 3; pixels: number[] }
  | { path: string };

export interface InsertionFigure {
  image_id: string;
  class_label?: string;
  curves: { model: string; x: number[]; y: number[] }[];
}

export interface MseFigure {
  image_id: string;
  model: string;
  class_label?: string;
  image: TileImage;
  grid: number;
  /** Patch indices, row-major on the grid; `r` is the likelihood ratio. */
  mses: { patches: number[]; r?: number }[];
  /** `parent`: index of the MSE it comes from; `removed`: the patch that MSE lost to make it. */
  sub_explanations?: { patches: number[]; r?: number; parent?: number; removed?: number }[];
}

export interface ChannelFigure {
  tensor?: string;
  curves: { model: string; values: number[] }[];
}

export interface LandscapeFigure {
  points: { model: string; group: string; x: number; y: number }[];
}

export interface CrossTestFigure {
  image_id: string;
  class_label?: string;
  image: TileImage;
  /** One heatmap per source model: `size` x `size` row-major saliency values. */
  heatmaps: { model: string; size: number; values: number[]; note?: string }[];
}

export interface GroupMatrixFigure {
  /** Rows: heatmap source group; columns: tested group. Not symmetric. */
  groups: string[];
  values: number[][];
}

export interface FiguresInput {
  insertion?: InsertionFigure;
  mse?: MseFigure;
  channels?: ChannelFigure;
  landscape?: LandscapeFigure;
  cross_test?: CrossTestFigure;
  group_matrix?: GroupMatrixFigure;
}

/** S[A][B]: mean normalised insertion AUC of A's heatmaps tested on B (METHODS §5), not symmetric. */
export interface CrossMatrixInput {
  models: string[];
  insertion: number[][];
  deletion?: number[][] | null;
  /** Which `b` normalised S: kpca's `baselineConfidence` (`top1` or `predicted-class`). */
  baseline_confidence?: string;
  /** The normalised insertion AUCs behind `insertion`: `[source][tested][image]`, null: none. */
  per_image?: { image_ids: string[]; insertion: (number | null)[][][] };
}

/** One line a unit (or the run) logged: shown in the report's Warnings section. */
export interface RunWarning {
  /** Where it comes from: `stage/unit`, or `run` for the run as a whole. */
  source: string;
  message: string;
}

/**
 * The per-image explorer of report.html: for a few images, everything the pipeline stored about
 * each model on them, made small (report/explorer_codec.ts): tensors as base64 of little-endian
 * typed arrays, images as PNG data URIs. Keys of `entries` are model ids, then image ids. Each part
 * comes from the stage that computed it; any may be absent. results.json leaves the explorer out:
 * its numbers are the store's, rounded for display.
 */
export interface ExplorerInput {
  /** The images, in dataset order, as the first preprocessing group crops them. */
  images: ExplorerImage[];
  /** Class names by index, when the dataset names them. */
  classes?: string[];
  /** Each model's prediction on each image (infer-baselines). */
  predictions?: Record<string, Record<string, { pred: number; p: number }>>;
  /** MSEs and sub-explanation trees (mse-search, subtree-count). */
  mse?: { grid: number; ph?: number; entries: Record<string, Record<string, ExplorerMse>> };
  /** Saliency maps (igos-heatmaps). */
  heatmaps?: {
    size: number;
    method: string;
    entries: Record<string, Record<string, ExplorerHeatmap>>;
  };
  /** Insertion and deletion curves of each source model's heatmap on every model (cross-test). */
  cross?: {
    /** Fraction of cells revealed at each point. */
    fractions: number[];
    entries: Record<string, Record<string, ExplorerCross>>;
  };
}

export interface ExplorerImage {
  id: string;
  label?: number | null;
  class_label?: string;
  width: number;
  height: number;
  /** PNG data URIs of the image and of its baseline B (what hidden patches show). */
  image: string;
  baseline: string;
}

/** A node of a sub-explanation tree: `removed` is the patch its parent lost to make it. */
export interface ExplorerTreeNode {
  patches: number[];
  r: number;
  removed?: number;
  children?: ExplorerTreeNode[];
}

export interface ExplorerMse {
  mses: { patches: number[]; r: number }[];
  /** The baseline alone reached r > Ph, so there was nothing to search (METHODS §1). */
  baselineSuffices?: boolean;
  /** The first trees, rooted at the first MSEs. */
  trees: ExplorerTreeNode[];
}

export interface ExplorerHeatmap {
  /** base64 uint8, size x size row-major: saliency min-max scaled to 0..255. */
  values: string;
  /** base64 uint16: cell indices, most salient first, as insertion reveals them (METHODS §4). */
  order: string;
}

export interface ExplorerCross {
  /** Models that evaluated the source's heatmap, in config order. */
  tested: string[];
  /** base64 uint16 [tested, 2, points]: insertion then deletion p_c, scaled by 65535. */
  curves: string;
  /** Whether the deletion half of `curves` was computed. */
  deletion: boolean;
  insertion_auc: number[];
  deletion_auc: (number | null)[];
  /** The class c each tested model's curve reads. */
  cls: number[];
}

/** The four outcomes of a verdict (METHODS §7). */
export const OUTCOMES = ["replicates", "opposite", "no effect", "inconclusive"] as const;
export type Outcome = typeof OUTCOMES[number];

/** One of the paper's findings tested on this run (report/verdicts.ts computes them). */
export interface Verdict {
  id: string;
  /** Where the paper reports the finding: "Table 1", "Table 2" or "cross-testing". */
  source: string;
  /** The paper's finding being tested. */
  finding: string;
  /** The precise statement tested on this run. */
  statement: string;
  /** What `estimate` is, e.g. "ratio of geometric means of 1 + count". */
  statistic: string;
  /** The primary statistic; null when untestable. */
  estimate: number | null;
  /** Its 95% bootstrap interval over images (level from options); null when untestable. */
  interval: [number, number] | null;
  /** The decision rule, declared before the data: which interval gives which outcome. */
  rule: string;
  outcome: Outcome;
  /** One plain sentence that says the outcome either way. */
  sentence: string;
  /** Images resampled (the union of the models' images) and models compared. */
  n: { images: number; models: number };
  numerator: string[];
  denominator: string[];
  /** The paper's statistic, the ratio of arithmetic means, with its interval (not decided on). */
  secondary?: { statistic: string; estimate: number; interval: [number, number] };
  /** For a randomisation test: its p value and the null distribution's quantile at the level. */
  test?: { p: number; null_quantile: number; samples: number };
}

/**
 * Images that are in no number of the report: left out by a lenient dataset listing (unknown
 * class, no labels row) or not decodable. `count` is the number listed.
 */
export interface SkippedImages {
  count: number;
  /** Each image by its path inside the dataset folder, with the reason. */
  images: { id: string; reason: string }[];
}

export interface ReportInput {
  run: RunInfo;
  provenance?: Provenance;
  accuracy?: AccuracySection;
  table1?: Table1Row[];
  /** Show the paper's Table 1 numbers beside ours (the `paper` config). */
  paper_columns?: boolean;
  /** What Table 1 counts (stated beside it). */
  counting?: Counting;
  /** Each model's baseline regime, with a measured reference. */
  calibration?: CalibrationSection;
  /** Which models stand for the paper's groups and rows. */
  design?: StudyDesign;
  figures?: FiguresInput;
  cross_matrix?: CrossMatrixInput;
  skipped_images?: SkippedImages;
  /**
   * The mini-replication verdicts, computed by the report stage from `table1` and the models'
   * traits so that they are cached with it; results.json lists them under `derived`.
   */
  verdicts?: Verdict[];
  /** What units logged in this run (computed or reused) and what the run itself noticed. */
  warnings?: RunWarning[];
  /** report.html's per-image explorer; not written to results.json. */
  explorer?: ExplorerInput;
}

/** A clear error for a malformed input, naming the JSON path at fault. */
export class ReportInputError extends Error {
  constructor(path: string, message: string) {
    super(`report input: ${path}: ${message}`);
    this.name = "ReportInputError";
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function need(cond: boolean, path: string, msg: string): void {
  if (!cond) throw new ReportInputError(path, msg);
}

function str(o: Record<string, unknown>, k: string, path: string): void {
  need(typeof o[k] === "string", `${path}.${k}`, "expected a string");
}

function num(v: unknown, path: string): void {
  need(typeof v === "number" && Number.isFinite(v), path, "expected a finite number");
}

function interval(v: unknown, path: string): void {
  need(isObj(v), path, "expected {mean, lo, hi}");
  const o = v as Record<string, unknown>;
  for (const k of ["mean", "lo", "hi"]) num(o[k], `${path}.${k}`);
}

function numArray(v: unknown, path: string, nullable = false): void {
  need(Array.isArray(v), path, "expected an array of numbers");
  (v as unknown[]).forEach((x, i) => {
    if (!(nullable && x === null)) num(x, `${path}[${i}]`);
  });
}

/**
 * Checks the parts the renderer relies on and throws a `ReportInputError` naming the first bad key.
 * Returns the input typed, for use on parsed JSON.
 */
export function validateReportInput(v: unknown): ReportInput {
  need(isObj(v), "$", "expected an object");
  const o = v as Record<string, unknown>;
  need(isObj(o.run), "$.run", "expected {id, config, created}");
  for (const k of ["id", "config", "created"]) str(o.run as Record<string, unknown>, k, "$.run");
  if (o.provenance !== undefined) {
    need(isObj(o.provenance), "$.provenance", "expected an object");
    const p = o.provenance as Record<string, unknown>;
    need(Array.isArray(p.models), "$.provenance.models", "expected an array");
    (p.models as unknown[]).forEach((m, i) => {
      const path = `$.provenance.models[${i}]`;
      need(isObj(m), path, "expected an object");
      str(m as Record<string, unknown>, "id", path);
      str(m as Record<string, unknown>, "group", path);
    });
  }
  if (o.accuracy !== undefined) {
    need(isObj(o.accuracy), "$.accuracy", "expected an object");
    const a = o.accuracy as Record<string, unknown>;
    need(Array.isArray(a.models), "$.accuracy.models", "expected an array");
    (a.models as unknown[]).forEach((m, i) => {
      need(isObj(m), `$.accuracy.models[${i}]`, "expected an object");
      str(m as Record<string, unknown>, "model", `$.accuracy.models[${i}]`);
      num((m as Record<string, unknown>).top1, `$.accuracy.models[${i}].top1`);
    });
  }
  if (o.table1 !== undefined) {
    need(Array.isArray(o.table1), "$.table1", "expected an array");
    (o.table1 as unknown[]).forEach((r, i) => {
      const path = `$.table1[${i}]`;
      need(isObj(r), path, "expected an object");
      const row = r as Record<string, unknown>;
      str(row, "model", path);
      num(row.images, `${path}.images`);
      if (row.baseline_suffices !== undefined) {
        num(row.baseline_suffices, `${path}.baseline_suffices`);
      }
      interval(row.mse_count, `${path}.mse_count`);
      interval(row.mse_size, `${path}.mse_size`);
      need(isObj(row.tree), `${path}.tree`, "expected an object keyed by threshold");
      for (const [k, iv] of Object.entries(row.tree as object)) interval(iv, `${path}.tree.${k}`);
      if (row.per_image !== undefined) {
        const pi = row.per_image as Record<string, unknown>;
        need(isObj(pi), `${path}.per_image`, "expected an object");
        numArray(pi.mse_count, `${path}.per_image.mse_count`);
        numArray(pi.mse_size, `${path}.per_image.mse_size`, true);
        need(isObj(pi.tree), `${path}.per_image.tree`, "expected an object keyed by threshold");
        const n = (pi.mse_count as unknown[]).length;
        for (const [k, arr] of Object.entries(pi.tree as object)) {
          numArray(arr, `${path}.per_image.tree.${k}`);
          need(
            (arr as unknown[]).length === n,
            `${path}.per_image.tree.${k}`,
            `length ${(arr as unknown[]).length} differs from mse_count's ${n}`,
          );
        }
        need(
          (pi.mse_size as unknown[]).length === n,
          `${path}.per_image.mse_size`,
          `length differs from mse_count's ${n}`,
        );
      }
    });
  }
  if (o.skipped_images !== undefined) {
    need(isObj(o.skipped_images), "$.skipped_images", "expected {count, images}");
    const sk = o.skipped_images as Record<string, unknown>;
    need(Array.isArray(sk.images), "$.skipped_images.images", "expected an array");
    const images = sk.images as unknown[];
    need(sk.count === images.length, "$.skipped_images.count", "differs from the images listed");
    images.forEach((x, i) => {
      need(isObj(x), `$.skipped_images.images[${i}]`, "expected {id, reason}");
      str(x as Record<string, unknown>, "id", `$.skipped_images.images[${i}]`);
      str(x as Record<string, unknown>, "reason", `$.skipped_images.images[${i}]`);
    });
  }
  if (o.verdicts !== undefined) {
    need(Array.isArray(o.verdicts), "$.verdicts", "expected an array");
    (o.verdicts as unknown[]).forEach((x, i) => {
      const path = `$.verdicts[${i}]`;
      need(isObj(x), path, "expected an object");
      for (const k of ["id", "finding", "statement", "sentence", "rule"]) {
        str(x as Record<string, unknown>, k, path);
      }
      need(
        (OUTCOMES as readonly unknown[]).includes((x as Record<string, unknown>).outcome),
        `${path}.outcome`,
        `expected one of ${OUTCOMES.join(", ")}`,
      );
    });
  }
  if (o.warnings !== undefined) {
    need(Array.isArray(o.warnings), "$.warnings", "expected an array");
    (o.warnings as unknown[]).forEach((w, i) => {
      need(isObj(w), `$.warnings[${i}]`, "expected {source, message}");
      str(w as Record<string, unknown>, "source", `$.warnings[${i}]`);
      str(w as Record<string, unknown>, "message", `$.warnings[${i}]`);
    });
  }
  if (o.explorer !== undefined) {
    need(isObj(o.explorer), "$.explorer", "expected an object");
    const ex = o.explorer as Record<string, unknown>;
    need(Array.isArray(ex.images), "$.explorer.images", "expected an array");
    (ex.images as unknown[]).forEach((im, i) => {
      const path = `$.explorer.images[${i}]`;
      need(isObj(im), path, "expected an object");
      for (const k of ["id", "image", "baseline"]) str(im as Record<string, unknown>, k, path);
      for (const k of ["image", "baseline"]) {
        need(
          String((im as Record<string, unknown>)[k]).startsWith("data:image/png;base64,"),
          `${path}.${k}`,
          "expected a PNG data URI",
        );
      }
    });
  }
  return v as ReportInput;
}
