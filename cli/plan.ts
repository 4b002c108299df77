/**
 * `xcompare plan [--config F] [--set ...] [--throughput T.json] [--json] [--no-measure]`: model
 * evaluations and hours per stage before committing a GPU to a run. Works without the ONNX files (a
 * paper config on a laptop): absent models take their rate from the throughput file or the default,
 * and the output says which numbers are measured and which assumed. What each stage costs is its
 * own `estimate`; this verb counts images and models, finds rates and adds up hours. Where the
 * store holds finished units of a stage, its hours here follow the pace they kept (seconds per
 * model row, pipeline/estimate.ts's measuredTime), not the one-second Scorer benchmark, which
 * misses batching, image decoding, trees and line searches.
 */
import type { Values } from "./args.ts";
import { configPathOf, loadPipeline } from "./app.ts";
import {
  measureGradientRates,
  measureRate,
  readThroughput,
  type ThroughputFile,
} from "./throughput.ts";
import { resolve } from "node:path";
import type { Config } from "../configs/schema.ts";
import type { Manifest } from "../pipeline/store.ts";
import {
  calibratedHours,
  estimateStages,
  type MeasuredTime,
  measuredTime,
  type ModelRates,
  stageHours,
  totalForward,
  totalGradient,
} from "../pipeline/estimate.ts";
import { resolveModels } from "../runtime/registry.ts";
import { dataset } from "../stages/support/common.ts";
import { formatDuration } from "../pipeline/progress.ts";

/**
 * Assumed where nothing says otherwise: a gradient row (forward + backward, backward ~2x forward)
 * costs 3 forward rows; a model neither measured nor in a throughput file runs 50 rows/s.
 */
export const defaults = { gradientCost: 3, masksPerSecond: 50 };

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

interface RateInfo {
  here: number | null;
  hereSource: "measured" | "assumed" | "none";
  /** Rows/s of the gradient graph here, with and without the backward; null where not measured. */
  gradientHere: number | null;
  gradientForwardHere: number | null;
  file: number | null;
  fileSource: "file" | "file default" | "none";
}

export async function planVerb(values: Values): Promise<number> {
  const configPath = configPathOf(values);
  const { spec, config } = await loadPipeline(configPath, { sets: values.set as string[] });
  const notes: string[] = [];
  const { images, imagesBasis } = await countImages(config, configPath);
  const { present, absent, planned } = await modelsToPlan(config, notes);
  const est = await estimateStages(spec, { models: planned, images });
  for (const s of est.unestimated) notes.push(`${s}: declares no estimate; not counted`);

  // Throughput: measured here for present models, from the file for all.
  const file = values.throughput ? await readThroughput(values.throughput as string) : null;
  const gradientCost = file?.gradientCost ?? defaults.gradientCost;
  const times = new Map<string, MeasuredTime | null>();
  const relevant = ranOnThisConfig(config);
  for (const s of est.stages) {
    times.set(s.stage, await measuredTime(spec.store, s.stage, gradientCost, relevant));
  }
  const allTimed = est.stages.every((s) => times.get(s.stage));
  if (allTimed) notes.push("every stage is timed from the store: no throughput benchmark run");
  // Only models whose untimed stages run the gradient graph have it measured.
  const onGraph = new Set(
    est.stages.filter((s) => !times.get(s.stage)).flatMap((s) =>
      Object.keys(s.forward).filter((m) => (s.gradient[m] ?? 0) + (s.gradientForward?.[m] ?? 0) > 0)
    ),
  );
  const measuredRates = values["no-measure"] || allTimed
    ? new Map<string, ModelRates>()
    : await measureRates(present, onGraph, config, configPath, notes);
  const rates = rateInfo(planned, measuredRates, file, notes);
  const hereRate = (id: string): ModelRates => {
    const r = rates.get(id)!;
    return {
      forward: r.here ?? NaN,
      gradient: r.gradientHere ?? undefined,
      gradientForward: r.gradientForwardHere ?? undefined,
    };
  };
  const fileRate = (id: string): ModelRates => ({
    forward: rates.get(id)!.file ?? defaults.masksPerSecond,
  });
  const hereComplete = planned.every((id) => rates.get(id)!.here !== null);
  // Rates nobody measured: the fixed placeholder, said in the table, not only in the notes.
  const placeholder = !allTimed && measuredRates.size === 0 &&
    planned.some((id) => rates.get(id)!.hereSource === "assumed");
  if (placeholder) {
    notes.push(
      `no rate measured here${values["no-measure"] ? " (--no-measure)" : ""}: hours "here" ` +
        `price every row at ${defaults.masksPerSecond} rows/s, a placeholder, not a measurement; ` +
        `plan without --no-measure where the models are, or pass --throughput`,
    );
  }
  const unlisted = file ? planned.filter((id) => file.rates[id] === undefined) : [];
  if (file && unlisted.length) {
    notes.push(
      `${unlisted.length} of ${planned.length} models are not in the throughput file and take its ` +
        (file.default === undefined
          ? `placeholder of ${defaults.masksPerSecond} rows/s`
          : `default of ${file.default} rows/s, measured for other models and input sizes`) +
        `: ${unlisted.slice(0, 4).join(", ")}${unlisted.length > 4 ? ", ..." : ""}`,
    );
  }
  const load = loadNote(present.length > 0 && measuredRates.size > 0);
  if (load) notes.push(load);

  const rows = est.stages.map((s) => {
    const t = times.get(s.stage) ?? null;
    return {
      stage: s.stage,
      units: s.units,
      images: s.images,
      forwardRows: totalForward(s),
      gradientRows: totalGradient(s),
      hoursHere: t
        ? calibratedHours(s, t, gradientCost)
        : hereComplete
        ? stageHours(s, hereRate, gradientCost)
        : null,
      hoursHereBasis: t
        ? "store" as const
        : hereComplete
        ? (placeholder ? "assumed" as const : "rates" as const)
        : null,
      timed: t,
      hoursFile: file ? stageHours(s, fileRate, gradientCost) : null,
      basis: s.basis,
    };
  });
  const total = (k: "hoursHere" | "hoursFile") =>
    rows.every((r) => r[k] !== null) ? rows.reduce((a, r) => a + (r[k] ?? 0), 0) : null;
  const result = {
    config: configPath,
    images,
    imagesBasis,
    models: planned.map((id) => ({ id, present: !absent.includes(id), ...rates.get(id)! })),
    device: file?.device ?? null,
    gradientCost,
    stages: rows,
    total: {
      forwardRows: rows.reduce((a, r) => a + r.forwardRows, 0),
      gradientRows: rows.reduce((a, r) => a + r.gradientRows, 0),
      hoursHere: total("hoursHere"),
      hoursFile: total("hoursFile"),
    },
    measured: est.measured,
    notes,
  };
  if (values.json) {
    console.log(JSON.stringify(result, null, 1));
    return 0;
  }
  console.log(formatPlanTable(result));
  return 0;
}

/**
 * Which finished units time this config's stages: those that ran only its models (the ONNX files
 * a unit's key names) or, without a model, read only its dataset's images; units that name no
 * file (kpca's algebra) count too. The store may hold other configs' units (the zoo beside
 * ImageNet), whose pace says nothing about this one.
 */
export function ranOnThisConfig(config: Config): (m: Manifest) => boolean {
  const onnx = new Set(config.models.map((m) => m.onnx));
  const images = resolve(config.dataset.dir) + "/";
  return (m) => {
    const files = Object.keys(m.components?.files ?? {});
    const models = files.filter((f) => f.endsWith(".onnx"));
    if (models.length) return models.every((f) => onnx.has(f));
    return files.every((f) => resolve(f).startsWith(images));
  };
}

/** Images: the listed dataset when it is there, else `first` (said so). */
async function countImages(
  config: Config,
  configPath: string,
): Promise<{ images: number; imagesBasis: string }> {
  try {
    return {
      images: (await dataset(config, { modelClasses: false })).items.length,
      imagesBasis: `listed from ${config.dataset.dir}`,
    };
  } catch (e) {
    if (!config.dataset.first) {
      throw new Error(
        `${configPath}: config.dataset: ${config.dataset.dir} cannot be listed (${
          (e as Error).message
        }) and dataset.first is not set, so the image count is unknown`,
      );
    }
    return {
      images: config.dataset.first,
      imagesBasis: `config dataset.first; ${config.dataset.dir} ${
        (await exists(config.dataset.dir)) ? "could not be listed" : "not found"
      }, not checked`,
    };
  }
}

/**
 * Models: absent optional ones are skipped (as reproduce does); absent required ones are planned
 * from the throughput file and flagged.
 */
async function modelsToPlan(config: Config, notes: string[]) {
  const present: Config["models"] = [];
  const absent: string[] = [];
  const planned: string[] = [];
  for (const m of config.models) {
    if (await exists(m.onnx)) {
      present.push(m);
      planned.push(m.id);
    } else if (m.optional) {
      notes.push(`${m.id}: optional and ${m.onnx} absent: not planned (as reproduce skips it)`);
    } else {
      absent.push(m.id);
      planned.push(m.id);
    }
  }
  if (absent.length) {
    notes.push(
      `${absent.length} required model(s) absent (${absent.join(", ")}): planned from the ` +
        `throughput file or the default rate; export them before reproducing`,
    );
  }
  return { present, absent, planned };
}

/**
 * Each present model's Scorer rate, measured here for a second, and for models in `onGraph` its
 * gradient graph's rates, a second each.
 */
async function measureRates(
  present: Config["models"],
  onGraph: Set<string>,
  config: Config,
  configPath: string,
  notes: string[],
): Promise<Map<string, ModelRates>> {
  const rates = new Map<string, ModelRates>();
  if (!present.length) return rates;
  const { models: specs } = await resolveModels(present, config.baseline, configPath);
  for (const m of specs) {
    try {
      const dims = m.io.inputDims.slice(1) as number[];
      rates.set(m.id, { forward: await measureRate(m.onnx, dims, config, 1) });
    } catch (e) {
      notes.push(`${m.id}: throughput not measured (${(e as Error).message})`);
      continue;
    }
    if (!onGraph.has(m.id)) continue;
    try {
      Object.assign(rates.get(m.id)!, await measureGradientRates(m, config, 1));
    } catch (e) {
      notes.push(
        `${m.id}: gradient graph not timed (${(e as Error).message}); ` +
          `a gradient row is assumed to cost ${defaults.gradientCost} forward rows`,
      );
    }
  }
  return rates;
}

/**
 * Each planned model's rate here (measured; unmeasured ones at the median measured rate, same
 * machine, else the default) and in the throughput file, with where each came from.
 */
function rateInfo(
  planned: string[],
  measured: Map<string, ModelRates>,
  file: ThroughputFile | null,
  notes: string[],
): Map<string, RateInfo> {
  const sorted = [...measured.values()].map((r) => r.forward).sort((a, b) => a - b);
  const median = sorted.length ? sorted[Math.floor(sorted.length / 2)] : null;
  if (median !== null && measured.size < planned.length && !file) {
    notes.push(`models without a measured rate here are assumed at the median measured rate`);
  }
  const rates = new Map<string, RateInfo>();
  for (const id of planned) {
    const m = measured.get(id);
    const here = m?.forward;
    const f = file?.rates[id] ?? file?.default;
    rates.set(id, {
      here: here ?? (file ? null : median ?? defaults.masksPerSecond),
      hereSource: here !== undefined ? "measured" : file ? "none" : "assumed",
      gradientHere: m?.gradient ?? null,
      gradientForwardHere: m?.gradientForward ?? null,
      file: f ?? null,
      fileSource: file?.rates[id] !== undefined
        ? "file"
        : f !== undefined
        ? "file default"
        : "none",
    });
  }
  return rates;
}

type PlanResult = {
  config: string;
  images: number;
  imagesBasis: string;
  models: ({ id: string; present: boolean } & RateInfo)[];
  device: string | null;
  gradientCost: number;
  stages: {
    stage: string;
    units: number;
    images: number;
    forwardRows: number;
    gradientRows: number;
    hoursHere: number | null;
    /** `store`: the pace of the stage's finished units; `rates`: rows over the models' rates. */
    hoursHereBasis: "store" | "rates" | "assumed" | null;
    timed: MeasuredTime | null;
    hoursFile: number | null;
    basis: string;
  }[];
  total: {
    forwardRows: number;
    gradientRows: number;
    hoursHere: number | null;
    hoursFile: number | null;
  };
  notes: string[];
};

/** The readable table. */
export function formatPlanTable(r: PlanResult): string {
  const head = ["stage", "units", "images", "forward rows", "gradient rows", "hours here", "from"];
  if (r.device) head.push(`hours on ${r.device}`);
  const total = { ...r.total, stage: "total", units: null, images: null, hoursHereBasis: null };
  const body = [...r.stages, total].map((s) => [
    s.stage,
    s.units === null ? "" : fmtInt(s.units),
    s.images === null ? "" : fmtInt(s.images),
    fmtInt(s.forwardRows),
    fmtInt(s.gradientRows),
    fmtHours(s.hoursHere),
    s.hoursHereBasis ?? "",
    ...(r.device ? [fmtHours(s.hoursFile)] : []),
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const row = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i]))).join("  ");
  const out = [
    `plan for ${r.config}: ${r.models.length} models, ${
      fmtInt(r.images)
    } images (${r.imagesBasis})`,
    "",
    row(head),
    ...body.map(row),
    "",
    `hours here, "store": the stage's rows (or units) at the pace its finished units kept in the store;`,
    `"rates": per model, summed: Scorer forward rows / its rate; gradient rows, and I-GOS forward`,
    `rows, / the gradient graph's rates where measured, else ${r.gradientCost} x gradient rows and`,
    `the I-GOS rows / the Scorer's rate. A one-second benchmark on an idle machine: load slows it.`,
    `"assumed": as "rates", at a placeholder rate nobody measured (see notes).`,
    "how counted:",
    ...r.stages.map((s) =>
      `  ${s.stage}: ${s.basis}${
        s.timed
          ? `; timed from ${s.timed.units} finished unit${s.timed.units === 1 ? "" : "s"}, ${
            formatDuration(s.timed.busySeconds)
          } busy`
          : ""
      }`
    ),
  ];
  const rated = r.stages.some((s) => s.hoursHereBasis !== "store") || r.device;
  if (rated) out.push("", "throughput (forward masks/s of the Scorer, 7x7 masks):");
  for (const m of rated ? r.models : []) {
    const here = m.here === null ? "not measured here" : `${fmtInt(m.here)} here (${m.hereSource})`;
    const f = m.file === null ? "" : `; ${fmtInt(m.file)} on ${r.device} (${m.fileSource})`;
    const g = m.gradientHere === null || m.here === null
      ? ""
      : `; gradient graph ${fmtInt(m.gradientHere)} gradient rows/s (${
        (m.here / m.gradientHere).toFixed(1)
      } forward rows each)${
        m.gradientForwardHere === null ? "" : `, ${fmtInt(m.gradientForwardHere)} forward rows/s`
      }`;
    out.push(`  ${m.id.padEnd(18)} ${m.present ? "" : "[onnx absent] "}${here}${g}${f}`);
  }
  if (r.total.hoursHere === null) {
    out.push(
      "",
      "hours here: '—' where a planned model is absent and has no measured rate; the " +
        (r.device ? `"${r.device}" column is the projection.` : "--throughput file gives one."),
    );
  }
  if (r.notes.length) out.push("", "notes:", ...r.notes.map((n) => `  ${n}`));
  return out.join("\n");
}

/**
 * The load while the rates were measured, when it is high enough to matter: a one-second benchmark
 * on a busy machine reads low (gradient costs on a shared 2-core machine varied 2-3x between plans).
 */
function loadNote(measured: boolean): string | null {
  if (!measured) return null;
  let load: number, cores: number;
  try {
    load = Deno.loadavg()[0];
    cores = navigator.hardwareConcurrency;
  } catch {
    return null;
  }
  return load > cores / 2
    ? `load average ${load.toFixed(1)} on ${cores} cores while measuring: the rates here read ` +
      `low and vary between plans; plan again on a quieter machine for firmer hours`
    : null;
}

/** `1234567` → `1,234,567`. */
export const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US");

/** Hours with sensible precision; `—` where unknown. */
export function fmtHours(h: number | null): string {
  if (h === null) return "—";
  if (h === 0) return "0";
  if (h < 0.01) return "<0.01";
  return h < 10 ? h.toFixed(2) : h < 1000 ? h.toFixed(1) : fmtInt(h);
}
