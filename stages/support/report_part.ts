/**
 * The report stage's contract with every stage's `summarise`: what each is given and what it
 * returns. Types only, apart from stages/report.ts: a stage file's imports are part of its units'
 * keys, so the report's own code must not be.
 */
import type { Config } from "../../configs/schema.ts";
import type { Stage, UnitRef } from "../../pipeline/stage.ts";
import type { BootstrapOptions } from "../../explain/stats.ts";
import type { ExplorerInput, ReportInput, TileImage } from "../../report/input.ts";

/** What the report stage passes to each stage's `summarise`. */
export interface ReportContext {
  config: Config;
  /** Model ids in config order: rows and series follow it. */
  models: string[];
  /** The report unit's inputs from `stage`: every unit that stage planned, in plan order. */
  units(stage: string): UnitRef[];
  /** Resamples, level and seed of every bootstrap interval in the report. */
  bootstrap: BootstrapOptions;
  /** The image that Figs. 3, 4 and 7 show across models; absent when none was preprocessed. */
  sample?: FigureSample;
  /** The images report.html's explorer shows, in dataset order; absent when it shows none. */
  explorer?: { images: string[] };
}

/** The first image of the first preprocessing group, as figure tiles show it. */
export interface FigureSample {
  id: string;
  /** The class name of its label, when the dataset names classes. */
  classLabel?: string;
  image: TileImage;
}

/**
 * A stage's part of the report input. The report stage merges the parts in stage order: figures
 * and the explorer's parts key by key, any other section from one stage only.
 */
export type ReportPart =
  & Pick<
    ReportInput,
    | "accuracy"
    | "table1"
    | "counting"
    | "calibration"
    | "figures"
    | "cross_matrix"
    | "skipped_images"
  >
  & { explorer?: Partial<Omit<ExplorerInput, "images">> };

/**
 * A stage the report summarises. Its part is typed where its `summarise` is written
 * (`Stage<Params, Config, ReportContext, ReportPart>`); a list of stages keeps only `unknown`.
 */
export type ReportedStage = Stage<unknown, Config, ReportContext, unknown>;
