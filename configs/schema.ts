/**
 * The shape of an xcompare config (configs/*.json). Paths are relative to the project root.
 * Stage params live under `stages.<name>` and are validated by each stage's own schema.
 */
import {
  any,
  arr,
  bool,
  int,
  maybe,
  num,
  obj,
  type ObjOf,
  oneOf,
  optional,
  record,
  str,
  union,
} from "../lib/schema.ts";
import { type Provider, providers } from "../lib/runtime_identity.ts";
import { preprocessBlockSchema } from "../runtime/preprocess_options.ts";
import type { BaselineChoice } from "../runtime/registry.ts";

export const modelSchema = obj({
  id: str({ nonEmpty: true }),
  /** Display name (e.g. the paper's "ResNet50-C1"); defaults to the id. */
  name: maybe(str()),
  onnx: str({ nonEmpty: true }),
  /** Card JSON; defaults to the ONNX path with `.json`. */
  card: maybe(str()),
  group: maybe(str()),
  /** Overrides of the card's preprocess block, key by key. */
  preprocess: optional(preprocessBlockSchema, {} as ObjOf<typeof preprocessBlockSchema.shape>),
  /** Optional models are skipped with a notice when their ONNX file is absent. */
  optional: optional(bool(), false),
  notes: maybe(str()),
});

export const datasetSchema = obj({
  kind: oneOf("folder", "imagenet-val"),
  dir: str({ nonEmpty: true }),
  labels: maybe(str()),
  /** Class names TSV (index, wnid, name) or CSV; optional. */
  classes: maybe(str()),
  /** Use the first N images by file name. */
  first: maybe(int({ min: 1 })),
  /** Images per chunk: the unit of caching for per-image stages. */
  chunk: optional(int({ min: 1 }), 50),
  /**
   * Skip, and list in the report, images whose label is a class the models lack or that have no
   * labels row, instead of stopping with an error (`reproduce --lenient` sets it).
   */
  lenient: maybe(bool()),
});

export const configSchema = obj({
  name: str({ nonEmpty: true }),
  description: maybe(str()),
  dataset: datasetSchema,
  models: arr(modelSchema, { min: 1 }),
  ensembles: optional(arr(obj({ name: str(), members: arr(str(), { min: 2 }) })), []),
  runtime: optional(
    obj({
      providers: optional(
        arr(oneOf(...providers), { min: 1 }),
        ["cpu"] as Provider[],
      ),
      threads: optional(int({ min: 0 }), 0),
      batchSize: optional(union<number | "auto">(int({ min: 1 }), oneOf("auto")), "auto"),
      /**
       * Scorer sessions on a worker thread, so searches prepare masks while a batch runs
       * (runtime/worker_session.ts). Same results; no gain measured on a 2-core CPU, meant for
       * GPU hosts, where the JS thread otherwise waits out every run.
       */
      offThread: optional(bool(), false),
      /**
       * The provider every session must open on: set, it is the only one tried and a run stops
       * at once with a clear error where it does not open, instead of falling back to the CPU
       * (`--require-provider` sets it from the command line).
       */
      requireProvider: maybe(oneOf(...providers)),
    }),
    {
      providers: ["cpu"] as Provider[],
      threads: 0,
      batchSize: "auto" as number | "auto",
      offThread: false,
      requireProvider: undefined as Provider | undefined,
    },
  ),
  /**
   * The baseline B: `blur` = the paper's Gaussian blur (51 x 51, sigma 50 at 224 px, scaled to
   * the input), `zero` = zeros after normalisation, or `{ blur: { kernelFraction, sigmaFraction } }`
   * = a Gaussian blur whose kernel size and sigma are those fractions of the image side (the
   * paper's are 51/224 and 50/224; bench/baseline_regime.ts measures the zoo's choice).
   */
  baseline: optional(
    union<BaselineChoice>(
      oneOf("blur", "zero"),
      obj({
        blur: obj({
          kernelFraction: num({ min: 1e-9 }),
          sigmaFraction: num({ min: 1e-9 }),
        }),
      }),
    ),
    "blur" as BaselineChoice,
  ),
  /** Upsampling of patch masks U(m): bilinear with align_corners (reference) or hard blocks. */
  upsample: optional(oneOf("bilinear", "nearest"), "bilinear"),
  /** Show the paper's Table 1/2 numbers beside ours (ImageNet configs). */
  paperColumns: optional(bool(), false),
  stages: optional(record(any()), {}),
  notes: maybe(any()),
});

export type Config = ObjOf<typeof configSchema.shape>;
export type ModelConfig = Config["models"][number];
