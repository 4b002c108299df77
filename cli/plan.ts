/**
 * `xcompare plan --config F [--throughput T.json] [--json] [--no-measure]`: model evaluations and
 * hours per stage before committing a GPU to a run. Works without the ONNX files (a paper config
 * on a laptop): absent models take their rate from the throughput file or the default, and the
 * output says which numbers are measured and which assumed.
 */
import { join } from "node:path";
import { loadConfig } from "./config.ts";
import { UsageError } from "./args.ts";
import { type Config, configSchema } from "../configs/schema.ts";
import { stages } from "../stages/index.ts";
import { dataset } from "../stages/support/common.ts";
import { resolveModels } from "../runtime/registry.ts";
import { OnnxScorer } from "../runtime/onnx_scorer.ts";
import { Rng } from "../lib/rng.ts";
import { sessionOptions } from "../stages/support/session_options.ts";
import {
  averagesFrom,
  defaults,
  estimateEvaluations,
  fmtHours,
  fmtInt,
  type ManifestSample,
  parseThroughput,
  type PlanParams,
  stageHours,
  type ThroughputFile,
  totalForward,
  totalGradient,
} from "../stages/support/cost.ts";

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

/** Per-unit samples from the store's manifests of the stages whose averages the plan uses. */
async function storeSamples(root: string): Promise<ManifestSample[]> {
  const read = async (stage: string) => {
    const out: {
      unit: string;
      outputHash: string;
      counters: Record<string, number>;
      // deno-lint-ignore no-explicit-any
      p: any;
      inputs: Record<string, string>;
    }[] = [];
    try {
      for await (const e of Deno.readDir(join(root, stage))) {
        if (!e.isDirectory || e.name.startsWith(".")) continue;
        try {
          const m = JSON.parse(await Deno.readTextFile(join(root, stage, e.name, "manifest.json")));
          out.push({
            unit: m.unit,
            outputHash: m.outputHash,
            counters: m.counters ?? {},
            p: m.components?.params ?? {},
            inputs: m.components?.inputs ?? {},
          });
        } catch { /* unfinished entry */ }
      }
    } catch { /* stage never ran */ }
    return out;
  };
  const samples: ManifestSample[] = [];
  const mse = await read("mse-search");
  const mseByHash = new Map(mse.map((m) => [m.outputHash, m]));
  for (const m of mse) {
    samples.push({
      stage: "mse-search",
      model: m.unit.split("/")[0],
      images: m.p.count ?? 0,
      counters: m.counters,
      params: m.p.search ?? {},
    });
  }
  for (const s of await read("subtree-count")) {
    // Image count of a subtree unit: that of the mse-search output it read.
    const input = Object.values((s.inputs ?? {}) as Record<string, string>);
    const src = input.map((h) => mseByHash.get(h)).find((m) => m !== undefined);
    samples.push({
      stage: "subtree-count",
      model: s.unit.split("/")[0],
      images: src?.p.count ?? 0,
      counters: s.counters,
      params: src?.p.search ?? {},
    });
  }
  for (const s of await read("igos-heatmaps")) {
    samples.push({
      stage: "igos-heatmaps",
      model: s.unit.split("/")[0],
      images: s.p.count ?? 0,
      counters: s.counters,
      params: s.p.heatmaps ?? {},
    });
  }
  return samples;
}

/** Forward masks/s of the Scorer on one model: 7x7 masks from many concurrent callers. */
async function measureRate(
  onnx: string,
  dims: number[],
  config: Config,
  seconds: number,
): Promise<number> {
  const [c, h, w] = dims;
  const rng = new Rng(1);
  const img = () => Float32Array.from({ length: c * h * w }, () => rng.normal());
  const images = [img(), img(), img(), img()];
  const scorer = await OnnxScorer.create(onnx, images, images.map((x) => x.map((v) => v * 0.1)), {
    batchSize: 32,
    mode: config.upsample,
    session: sessionOptions(config),
  });
  try {
    const reqs = Array.from({ length: 8 }, (_, i) =>
      Array.from({ length: 8 }, () => ({
        image: i % 4,
        mask: Float32Array.from({ length: 49 }, () => rng.next()),
        cls: 0,
      })));
    await Promise.all(reqs.map((r) => scorer.score(r))); // warm-up
    const t0 = performance.now();
    let masks = 0;
    await Promise.all(reqs.map(async (r) => {
      while (performance.now() - t0 < seconds * 1000) {
        const p = await scorer.score(r);
        masks += p.length;
      }
    }));
    return masks / ((performance.now() - t0) / 1000);
  } finally {
    await scorer.release();
  }
}

interface RateInfo {
  here: number | null;
  hereSource: "measured" | "assumed" | "none";
  file: number | null;
  fileSource: "file" | "file default" | "none";
}

export async function planVerb(values: Record<string, unknown>): Promise<number> {
  const configPath = values.config as string | undefined;
  if (!configPath) throw new UsageError("xcompare plan: --config is required");
  const { config } = await loadConfig(configPath, configSchema);
  const notes: string[] = [];

  // Stage params through each stage's own schema (defaults filled, errors name the key).
  const parsed: Record<string, Record<string, unknown>> = {};
  for (const s of stages) {
    parsed[s.name] = s.params.parse(
      config.stages[s.name] ?? {},
      `${configPath}: config.stages.${s.name}`,
    ) as Record<string, unknown>;
  }

  // Images: the listed dataset when it is there, else `first` (said so).
  let images: number, imagesBasis: string;
  try {
    images = (await dataset(config)).items.length;
    imagesBasis = `listed from ${config.dataset.dir}`;
  } catch (e) {
    if (!config.dataset.first) {
      throw new Error(
        `${configPath}: config.dataset: ${config.dataset.dir} cannot be listed (${
          (e as Error).message
        }) and dataset.first is not set, so the image count is unknown`,
      );
    }
    images = config.dataset.first;
    imagesBasis = `config dataset.first; ${config.dataset.dir} ${
      (await exists(config.dataset.dir)) ? "could not be listed" : "not found"
    }, not checked`;
  }

  // Models: absent optional ones are skipped (as reproduce does); absent required ones are
  // planned from the throughput file and flagged.
  const present: typeof config.models = [];
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

  const samples = await storeSamples(Deno.env.get("XCOMPARE_ARTIFACTS") ?? "artifacts");
  const params = parsed as unknown as PlanParams;
  const measured = averagesFrom(samples, params);
  const est = estimateEvaluations(
    { models: planned, images, chunk: config.dataset.chunk, params, measured },
    {},
  );

  // Throughput: measured here for present models, from the file for all.
  let file: ThroughputFile | null = null;
  if (values.throughput) {
    const path = values.throughput as string;
    let raw: unknown;
    try {
      raw = JSON.parse(await Deno.readTextFile(path));
    } catch (e) {
      throw new Error(`${path}: cannot read throughput file (${(e as Error).message})`);
    }
    file = parseThroughput(raw, path);
  }
  const gradientCost = file?.gradientCost ?? defaults.gradientCost;
  const rates = new Map<string, RateInfo>();
  const measuredRates = new Map<string, number>();
  if (!values["no-measure"] && present.length) {
    const { models: specs } = await resolveModels(present, config.baseline, configPath);
    for (const m of specs) {
      try {
        const dims = m.io.inputDims.slice(1) as number[];
        measuredRates.set(m.id, await measureRate(m.onnx, dims, config, 1));
      } catch (e) {
        notes.push(`${m.id}: throughput not measured (${(e as Error).message})`);
      }
    }
  }
  // Unmeasured models here: the median of the measured ones (same machine), else the default.
  const sorted = [...measuredRates.values()].sort((a, b) => a - b);
  const median = sorted.length ? sorted[Math.floor(sorted.length / 2)] : null;
  if (median !== null && measuredRates.size < planned.length && !file) {
    notes.push(`models without a measured rate here are assumed at the median measured rate`);
  }
  for (const id of planned) {
    const here = measuredRates.get(id);
    const f = file?.rates[id] ?? file?.default;
    rates.set(id, {
      here: here ?? (file ? null : median ?? defaults.masksPerSecond),
      hereSource: here !== undefined ? "measured" : file ? "none" : "assumed",
      file: f ?? null,
      fileSource: file?.rates[id] !== undefined
        ? "file"
        : f !== undefined
        ? "file default"
        : "none",
    });
  }
  const hereRate = (id: string) => rates.get(id)!.here ?? NaN;
  const fileRate = (id: string) => rates.get(id)!.file ?? defaults.masksPerSecond;
  const hereComplete = planned.every((id) => rates.get(id)!.here !== null);

  const rows = est.map((s) => ({
    stage: s.stage,
    units: s.units,
    images: s.images,
    forwardRows: totalForward(s),
    gradientRows: totalGradient(s),
    hoursHere: hereComplete ? stageHours(s, hereRate, gradientCost) : null,
    hoursFile: file ? stageHours(s, fileRate, gradientCost) : null,
    basis: s.basis,
  }));
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
    measured,
    notes,
  };
  if (values.json) {
    console.log(JSON.stringify(result, null, 1));
    return 0;
  }
  console.log(formatPlanTable(result));
  return 0;
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
  const head = ["stage", "units", "images", "forward rows", "gradient rows", "hours here"];
  if (r.device) head.push(`hours on ${r.device}`);
  const body = [...r.stages, { ...r.total, stage: "total", units: null, images: null }].map((s) => [
    s.stage,
    s.units === null ? "" : fmtInt(s.units),
    s.images === null ? "" : fmtInt(s.images),
    fmtInt(s.forwardRows),
    fmtInt(s.gradientRows),
    fmtHours(s.hoursHere),
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
    `hours: forward rows / rate + ${r.gradientCost} x gradient rows / rate, per model, summed.`,
    "how counted:",
    ...r.stages.map((s) => `  ${s.stage}: ${s.basis}`),
    "",
    "throughput (forward masks/s of the Scorer, 7x7 masks):",
  ];
  for (const m of r.models) {
    const here = m.here === null ? "not measured here" : `${fmtInt(m.here)} here (${m.hereSource})`;
    const f = m.file === null ? "" : `; ${fmtInt(m.file)} on ${r.device} (${m.fileSource})`;
    out.push(`  ${m.id.padEnd(18)} ${m.present ? "" : "[onnx absent] "}${here}${f}`);
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
