/**
 * report: gathers every stage's part of the renderer's ReportInput, computes the mini-replication
 * verdicts from them, and caches the whole as report_input.json. The CLI renders it into
 * reports/<run-id>/ after adding the run's own provenance (wall times, units computed and reused,
 * the runtime that computed the model stages' units), which is not part of any cached result.
 */
import type { Config } from "../configs/schema.ts";
import { arr, int, maybe, obj, optional, record, str } from "../lib/schema.ts";
import type { Stage, UnitIO, UnitRef } from "../pipeline/stage.ts";
import { decodeNpy } from "../runtime/npy.ts";
import { defaults as bootstrapDefaults } from "../explain/stats.ts";
import type { ModelInfo, ReportInput, StudyDesign } from "../report/input.ts";
import { PAPER_GROUPS } from "../report/paper.ts";
import { computeVerdicts } from "../report/verdicts.ts";
import { parseCalibrationReference } from "./support/calibration.ts";
import { dataset, models } from "./support/common.ts";
import { LISTING_UNIT } from "./preprocess.ts";
import { readExplorerImages } from "./support/explorer_images.ts";
import type {
  FigureSample,
  ReportContext,
  ReportedStage,
  ReportPart,
} from "./support/report_part.ts";
import { noModelRows } from "./support/cost.ts";

const variants = obj({ ln: str(), gn: maybe(str()), bn: maybe(str()), base: maybe(str()) });

const params = obj({
  /**
   * Bootstrap resamples for the 95% intervals. At most 100 000: far past where the intervals'
   * shown digits settle, while a typo such as 1e9 would run the report for hours.
   */
  bootstrap: optional(int({ min: 100, max: 100_000 }), bootstrapDefaults.samples),
  /** Seed of every bootstrap of the report (Table 1 and the verdicts). */
  seed: optional(int({ min: 0 }), bootstrapDefaults.seed),
  /** Images report.html's explorer shows (the first of the dataset; 0 = no explorer). */
  explorerImages: optional(int({ min: 0 }), 10),
  /** Longest side, in pixels, of the explorer's images (larger crops are downsampled). */
  explorerSide: optional(int({ min: 8 }), 112),
  /**
   * The study's design, declared before the data (METHODS §7): which models stand for each of
   * the paper's Table 1 groups (`table1`: group name -> model ids) and for its Table 2 rows
   * (`normAblations`: per family, the LN, GN, BN and original models, and the paper's names).
   */
  design: optional(
    obj({
      table1: optional(record(arr(str())), {}),
      normAblations: optional(
        arr(obj({ family: str({ nonEmpty: true }), models: variants, paper: maybe(variants) })),
        [],
      ),
    }),
    { table1: {}, normAblations: [] },
  ),
  /**
   * A bench/baseline_regime.ts output whose ImageNet row the baseline-regime table shows as its
   * reference ("" for none); its contents enter the report's key.
   */
  calibrationReference: optional(str(), ""),
});

export type ReportParams = ReturnType<typeof params.parse>;

interface ReportUnitParams {
  models: { id: string; name: string; group: string; card: Record<string, unknown> | null }[];
  skipped: { id: string; reason: string }[];
}

/**
 * The report stage over the stages before it, in order. A factory because the stage list
 * (stages/index.ts) holds the report too: the list builds it from its other entries. Its unit reads
 * every unit of those stages and asks each stage that has a `summarise` for its part. `module` is
 * the list's own (`import.meta.url` of stages/index.ts): the hooks run inside the report's unit, so
 * the code of every stage file enters the report's key.
 */
export function reportStage(
  reported: ReportedStage[],
  module: string,
): Stage<ReportParams, Config> {
  return {
    name: "report",
    after: reported.map((s) => s.name),
    module,
    params,
    estimate: ({ models }) => noModelRows(models, 1, 0, "bootstrap and rendering only"),
    async plan({ config, params, upstream }) {
      const { models: ms, skipped } = await models(config);
      return [{
        id: "all",
        params: {
          ...params,
          config: withoutRuntime(config),
          models: ms.map((m) => ({ id: m.id, name: m.name, group: m.group, card: m.card })),
          skipped,
        },
        inputs: reported.flatMap((s) =>
          upstream[s.name].map((u): UnitRef => ({ stage: s.name, unit: u.id }))
        ),
        files: [
          ...ms.map((m) => m.onnx),
          ...(params.calibrationReference ? [params.calibrationReference] : []),
        ],
      }];
    },
    async run(unit, io, { config, params }) {
      const p = unit.params as ReportUnitParams;
      const byStage = Map.groupBy(unit.inputs, (r) => r.stage);
      const units = (stage: string) => byStage.get(stage) ?? [];
      const classNames = (await dataset(config)).classNames;
      const explorerImages = await explorerImagesOf(
        io,
        config,
        units("preprocess").filter((r) => r.unit !== LISTING_UNIT),
        classNames,
        {
          images: params.explorerImages,
          side: params.explorerSide,
        },
      );
      const ctx: ReportContext = {
        config,
        models: p.models.map((m) => m.id),
        units,
        bootstrap: { ...bootstrapDefaults, samples: params.bootstrap, seed: params.seed },
        // Figs. 3, 4 and 7 show the first image of the first preprocessing group.
        sample: await readSample(
          io,
          units("preprocess").find((r) => r.unit !== LISTING_UNIT),
          classNames,
        ),
        explorer: explorerImages.length ? { images: explorerImages.map((im) => im.id) } : undefined,
      };
      const input: ReportInput = {
        run: { id: "(set when published)", config: config.name, created: "(set when published)" },
        provenance: {
          config: withoutRuntime(config),
          models: p.models.map((m): ModelInfo => ({
            id: m.id,
            group: m.group,
            sha256: undefined,
            params: (m.card?.params as number | undefined) ?? undefined,
            paper_name: m.name !== m.id ? m.name : undefined,
            traits: traitsOf(m.card),
          })),
          stage_params: {
            ...Object.fromEntries(reported.map((s) => [
              s.name,
              s.params.parse(config.stages[s.name] ?? {}, `config.stages.${s.name}`) as Record<
                string,
                unknown
              >,
            ])),
            report: { ...params },
          },
        },
        paper_columns: config.paperColumns,
        figures: {},
        explorer: explorerImages.length
          ? { images: explorerImages, ...(classNames ? { classes: classNames } : {}) }
          : undefined,
      };
      for (const s of reported) {
        if (s.summarise) addPart(input, (await s.summarise(io, ctx)) as ReportPart, s.name);
      }
      const design = checkDesign(params.design, config);
      if (design) input.design = design;
      if (input.calibration && params.calibrationReference) {
        const file = params.calibrationReference;
        input.calibration.reference = parseCalibrationReference(await readText(file), file);
      }
      const ms = input.provenance!.models;
      if (input.table1?.length && (design || ms.some((m) => m.traits))) {
        input.verdicts = computeVerdicts(ms, input.table1, {
          bootstrap: ctx.bootstrap,
          design,
          cross: input.cross_matrix,
        });
      }
      await io.writeJson("report_input.json", input);
      if (p.skipped.length) {
        io.log(`models skipped: ${p.skipped.map((s) => `${s.id} (${s.reason})`).join("; ")}`);
      }
    },
  };
}

/**
 * The config as the report's key and cached input see it: without its `runtime` block, which says
 * how and where models run, not what the report computes from the stored results. So the report
 * runs no model and does not key on the runtime (METHODS §8); the CLI adds the runtime that
 * computed the results, and the run's config, when it publishes (cli/app.ts `publish`).
 */
function withoutRuntime(config: Config): Omit<Config, "runtime"> {
  const { runtime: _runtime, ...rest } = config;
  return rest;
}

/**
 * The declared design, checked against the paper's group names and the config's model ids (a
 * typo would silently empty a group); undefined when nothing is declared.
 */
export function checkDesign(d: Required<StudyDesign>, config: Config): StudyDesign | undefined {
  const where = "stages.report.design";
  const ids = new Set(config.models.map((m) => m.id));
  const known = (id: string | undefined, path: string) => {
    if (id !== undefined && !ids.has(id)) {
      throw new Error(`${where}.${path}: "${id}" is not a model of config ${config.name}`);
    }
  };
  for (const [group, members] of Object.entries(d.table1)) {
    if (!(PAPER_GROUPS as readonly string[]).includes(group)) {
      throw new Error(
        `${where}.table1: "${group}" is not one of the paper's groups (${PAPER_GROUPS.join(", ")})`,
      );
    }
    members.forEach((id, i) => known(id, `table1.${group}[${i}]`));
  }
  d.normAblations.forEach((a, i) => {
    for (const k of ["ln", "gn", "bn", "base"] as const) {
      known(a.models[k], `normAblations[${i}].models.${k}`);
    }
  });
  if (!Object.keys(d.table1).length && !d.normAblations.length) return undefined;
  return d;
}

async function readText(file: string): Promise<string> {
  try {
    return await Deno.readTextFile(file);
  } catch (e) {
    throw new Error(`report: cannot read ${file}: ${(e as Error).message}`);
  }
}

/**
 * Merges a stage's part into the input: figures and the explorer's parts key by key, other
 * sections from one stage only.
 */
function addPart(input: ReportInput, part: ReportPart, stage: string): void {
  for (const [key, value] of Object.entries(part) as [keyof ReportPart, unknown][]) {
    if (value === undefined) continue;
    if (key === "figures" || key === "explorer") {
      const into = key === "figures" ? input.figures! : input.explorer;
      if (!into) continue; // no explorer images: the explorer is off
      for (const [name, part] of Object.entries(value as object)) {
        if (name in into) throw new Error(`report: ${key}.${name} comes twice (${stage})`);
        Object.assign(into, { [name]: part });
      }
    } else if (key in input) {
      throw new Error(`report: section ${key} comes twice (${stage})`);
    } else Object.assign(input, { [key]: value });
  }
}

function traitsOf(card: Record<string, unknown> | null): ModelInfo["traits"] {
  if (!card) return undefined;
  const norm = String(card.norm ?? "").toLowerCase();
  const arch = String(card.architecture ?? card.arch ?? "").toLowerCase();
  return {
    norm: norm === "bn" || norm === "ln" || norm === "gn" ? norm : "other",
    arch: /vit|transformer|swin|deit|pit|levit|nest/.test(arch)
      ? "transformer"
      : /cnn|conv|resnet|vgg/.test(arch)
      ? "cnn"
      : "other",
    distilled: Boolean(card.distilled_from ?? card.distilled),
  };
}

/** The explorer's images from the first preprocessing group's chunks, in dataset order. */
async function explorerImagesOf(
  io: UnitIO,
  config: Config,
  refs: UnitRef[],
  classNames: string[] | null,
  o: { images: number; side: number },
) {
  if (o.images === 0 || refs.length === 0) return [];
  const group = refs[0].unit.slice(0, refs[0].unit.lastIndexOf("/"));
  const model = (await models(config)).models.find((m) => m.preprocessKey === group);
  if (!model) return [];
  const chunks = refs.filter((r) => r.unit.startsWith(`${group}/`));
  return await readExplorerImages(io, chunks, model.preprocess, classNames, o);
}

/** The first image of a preprocess chunk as a figure tile, with its class name. */
async function readSample(
  io: UnitIO,
  ref: UnitRef | undefined,
  classNames: string[] | null,
): Promise<FigureSample | undefined> {
  if (!ref) return undefined;
  const { items } = await io.readInputJson<{ items: { id: string; label: number | null }[] }>(
    ref,
    "items.json",
  );
  if (!items.length) return undefined;
  const rgbArr = decodeNpy(await io.readInput(ref, "rgb01.npy"));
  const [, c, h, w] = rgbArr.shape;
  const rgb = rgbArr.data as Float32Array;
  const pixels: number[] = [];
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < c; k++) pixels.push(Math.round(rgb[k * h * w + p] * 255));
  }
  const first = items[0];
  return {
    id: first.id,
    classLabel: first.label !== null && classNames ? classNames[first.label] : undefined,
    image: { width: w, height: h, channels: c as 1 | 3, pixels },
  };
}
