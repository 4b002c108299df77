/**
 * The declarative Stage: what it reads, its validated params, the units of work it splits into,
 * and how one unit is computed. The runner owns caching, ordering, resumption and progress.
 */
import type { RuntimeIdentity } from "../lib/runtime_identity.ts";
import type { Schema } from "../lib/schema.ts";

export type { RuntimeIdentity };

/** A reference to one unit of an upstream stage. */
export interface UnitRef {
  stage: string;
  unit: string;
}

/** One cacheable piece of a stage's work (e.g. one model × one chunk of images). */
export interface UnitPlan {
  /** Unique within the stage; safe as a path segment after sanitising. */
  id: string;
  /** The params this unit reads, as JSON: part of its cache key. */
  params: unknown;
  /** Upstream units whose outputs it reads: their content hashes are part of its cache key. */
  inputs: UnitRef[];
  /** Files outside the store it reads (images, ONNX models): their content hashes enter the key. */
  files?: string[];
  /**
   * The folder (a dataset's) that names `files` in the key: each by its path relative to it, so
   * moving the folder, the checkout, or a shared store's mount keeps the key. Absent: as given.
   */
  filesRoot?: string;
  /** Whether results depend on the inference runtime (onnxruntime version, provider). */
  runtime?: boolean;
}

/** What a running unit may do: read its declared inputs, write its outputs, report progress. */
export interface UnitIO {
  /**
   * Path of a file of an input unit (which must be declared in `inputs`), for messages: read it
   * through `readInput`, which checks the bytes against the input's manifest.
   */
  inputPath(ref: UnitRef, file: string): string;
  /** A file of an input unit, after checking its bytes against the sha256 in its manifest. */
  readInput(ref: UnitRef, file: string): Promise<Uint8Array>;
  readInputJson<T = unknown>(ref: UnitRef, file: string): Promise<T>;
  /** Output files of an input unit. */
  inputFiles(ref: UnitRef): string[];
  /** Writes an output file of this unit (into its temporary directory until the unit commits). */
  write(file: string, data: Uint8Array | string): Promise<void>;
  writeJson(file: string, value: unknown): Promise<void>;
  /** Directory where outputs go, for libraries that write files themselves. */
  readonly outDir: string;
  /** Progress within the unit, for the live line and ETA. */
  progress(done: number, total: number): void;
  log(message: string): void;
  /** Counters that the summary and the report show (e.g. modelEvals). */
  count(name: string, n: number): void;
  /**
   * Timings and batch statistics of this computation: kept in the entry's `timings.json` sidecar,
   * which no hash covers, so that equal inputs give byte-identical outputs.
   */
  timings(name: string, value: unknown): void;
}

export interface PlanContext<P, C> {
  config: C;
  params: P;
  /** Unit plans of upstream stages, by stage name. */
  upstream: Record<string, UnitPlan[]>;
}

export interface RunContext<P, C> extends PlanContext<P, C> {
  runtime: RuntimeIdentity;
}

/** A per-unit average that earlier runs measured, and where it came from (said in `plan`). */
export interface Measured {
  value: number;
  source: string;
}

/**
 * A finished unit in the store as an estimate sees it: what it was computed from and what it
 * counted. Not the store's Manifest type, so that the store's code stays out of every stage's key.
 */
export interface FinishedUnit {
  unit: string;
  /** The unit's params (its plan's `params`). */
  params: unknown;
  /** `stage/unit` → output hash of each input it read. */
  inputs: Record<string, string>;
  outputHash: string;
  counters: Record<string, number>;
}

/** What `xcompare plan` knows before anything runs, for a stage's `estimate`. */
export interface EstimateContext<P, C> {
  config: C;
  params: P;
  /** Every stage's validated params, by name: a stage's cost may follow an upstream's settings. */
  stageParams: Record<string, unknown>;
  /** Estimates of the stages before this one in DAG order, by name. */
  upstream: Record<string, StageEstimate>;
  /** The models the units will run (ids): those present, and absent required ones. */
  models: string[];
  /** Images the pipeline will read (the listed dataset, or what the config says it holds). */
  images: number;
  /** A stage's finished units in the store, to average what earlier runs counted. */
  finished(stage: string): Promise<FinishedUnit[]>;
}

/** What a stage's units will cost: rows through each model, so hours follow from its rate. */
export interface StageEstimate {
  units: number;
  images: number;
  /** Forward rows per model (the model that runs them). */
  forward: Record<string, number>;
  /** Gradient rows (forward and backward) per model. */
  gradient: Record<string, number>;
  /**
   * Of `forward`, the rows run on the gradient graph without a backward (I-GOS line searches). On
   * a quantised model that graph is the dequantised one, slower than the Scorer's.
   */
  gradientForward?: Record<string, number>;
  /** How the counts were derived. */
  basis: string;
  /** Averages measured in the store, by name, whether or not this estimate used them. */
  measured?: Record<string, Measured>;
}

/**
 * `X` and `R` type the optional `summarise` hook: what the stage that gathers every stage's part
 * (xcompare's report) passes to it, and the part it gets back. The engine never calls the hook.
 */
export interface Stage<P = unknown, C = unknown, X = never, R = unknown> {
  name: string;
  /** Upstream stages; the DAG order is derived from these. */
  after: string[];
  /** `import.meta.url` of the stage file: its local import closure is part of every unit's key. */
  module: string;
  params: Schema<P>;
  plan(ctx: PlanContext<P, C>): UnitPlan[] | Promise<UnitPlan[]>;
  run(unit: UnitPlan, io: UnitIO, ctx: RunContext<P, C>): Promise<void>;
  /**
   * Units computed at once unless `--jobs` says otherwise (default 1). Above 1 where units share
   * what `open` set up: mse-search's units of one model share one Scorer, so the last, sparse
   * batches of one chunk fill up with the next chunk's masks.
   */
  streams?: number;
  /**
   * This stage's own part of what a later stage gathers from every stage (xcompare's report),
   * made from its units' outputs, which it reads through the gathering unit's `io`. The gathering
   * stage declares those units as its inputs, so they are part of its key.
   */
  summarise?(io: UnitIO, ctx: X): Promise<R>;
  /** Optional hook before the first unit runs (e.g. open sessions); shared by its units. */
  open?(ctx: RunContext<P, C>): Promise<void>;
  close?(): Promise<void>;
  /**
   * Optional: what the stage's units will cost, for `xcompare plan` before any input exists. The
   * runner never calls it; the estimate lives here so that a stage's cost model sits beside the
   * work it describes.
   */
  estimate?(ctx: EstimateContext<P, C>): StageEstimate | Promise<StageEstimate>;
}

/** A stage of any params and config: what lists of stages hold. */
// deno-lint-ignore no-explicit-any
export type AnyStage = Stage<any, any>;
