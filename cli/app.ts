/**
 * What the verbs share, defined once: where the store and the reports live, a config loaded into a
 * pipeline (with the checks its schema cannot make), run ids, and publishing a run's report.
 */
import { basename, extname, join } from "node:path";
import { runIdProblem } from "../lib/run_id.ts";
import { UsageError } from "./args.ts";
import { loadConfig } from "./config.ts";
import { applyOverrides, checkOverrides, parseOverrides } from "./overrides.ts";
import { hashJson, sha256File } from "../lib/hash.ts";
import { suggest } from "../lib/schema.ts";
import { readChecked } from "../pipeline/checked_read.ts";
import { LOCK_NAME } from "../pipeline/lockfile.ts";
import type { PipelineSpec } from "../pipeline/plan.ts";
import type { RunResult } from "../pipeline/runner.ts";
import { Store } from "../pipeline/store.ts";
import { type Config, configSchema } from "../configs/schema.ts";
import { runWarnings } from "./run_warnings.ts";
import { changedFile, hashFiles, RUN_RECORD } from "./run_record.ts";
import { replaceDir } from "./replace_dir.ts";
import { stages } from "../stages/index.ts";
import { checkDesign, type ReportParams } from "../stages/report.ts";
import { probeRuntime } from "../runtime/probe.ts";
import type { Provider, RuntimeIdentity } from "../lib/runtime_identity.ts";

/**
 * The store and reports folders as the environment overrides them (tests, a shared cluster store);
 * job scripts carry the overrides to the nodes.
 */
export const overrides = {
  artifacts: Deno.env.get("XCOMPARE_ARTIFACTS"),
  reports: Deno.env.get("XCOMPARE_REPORTS"),
};
export const ARTIFACTS = overrides.artifacts ?? "artifacts";
export const REPORTS = overrides.reports ?? "reports";
export const DEFAULT_CONFIG = "configs/default.json";

/** The `--config` flag, or the default config. */
export const configPathOf = (values: Record<string, unknown>): string =>
  (values.config as string | undefined) ?? DEFAULT_CONFIG;

/** What flags change in a loaded config. */
export interface ConfigOverrides {
  /** `--set stage.param=value` overrides (cli/overrides.ts), applied to the stage params. */
  sets?: readonly string[];
  /** `--require-provider`: replaces `runtime.requireProvider`. */
  requireProvider?: Provider;
  /** `--lenient`: set `dataset.lenient`, which decides the dataset and so enters the keys. */
  lenient?: boolean;
}

/**
 * A config loaded into a pipeline, with `--set` overrides applied to its stage params;
 * `configHash` covers the overrides, which `overrides` lists as run.json records them.
 */
export async function loadPipeline(configPath: string, flags: ConfigOverrides = {}): Promise<
  { spec: PipelineSpec<Config>; config: Config; configHash: string; overrides: string[] }
> {
  const loaded = await loadConfig(configPath, configSchema);
  const parsedSets = parseOverrides(flags.sets ?? []);
  const raw = parsedSets.length ? applyOverrides(loaded.raw, parsedSets) : loaded.raw;
  if (parsedSets.length) checkOverrides(parsedSets, stages, loaded.raw, raw, configPath);
  const config = parsedSets.length ? configSchema.parse(raw, "config") : loaded.config;
  if (flags.requireProvider) config.runtime.requireProvider = flags.requireProvider;
  if (flags.lenient) config.dataset.lenient = true;
  const names = stages.map((s) => s.name);
  for (const k of Object.keys(config.stages)) {
    if (!names.includes(k)) {
      throw new Error(`${configPath}: config.stages.${k}: unknown stage${suggest(k, names)}`);
    }
  }
  const ids = new Set<string>();
  config.models.forEach((m, i) => {
    if (ids.has(m.id)) {
      throw new Error(`${configPath}: config.models[${i}].id: duplicate id "${m.id}"`);
    }
    ids.add(m.id);
  });
  config.ensembles.forEach((e, i) =>
    e.members.forEach((m, j) => {
      if (!ids.has(m)) {
        throw new Error(
          `${configPath}: config.ensembles[${i}].members[${j}]: unknown model "${m}"${
            suggest(m, [...ids])
          }`,
        );
      }
    })
  );
  // The design names models: checked now, not after every stage has run.
  const report = stages.find((s) => s.name === "report")!.params.parse(
    config.stages.report ?? {},
    "config.stages.report",
  ) as ReportParams;
  try {
    checkDesign(report.design, config);
  } catch (e) {
    throw new Error(`${configPath}: config.${(e as Error).message}`);
  }
  const spec: PipelineSpec<Config> = {
    stages,
    config,
    stageParams: (s) => config.stages[s],
    paramsPath: `${configPath}: config.stages`,
    store: new Store(ARTIFACTS),
    runtime: () => probeRuntime(config.runtime.providers, config.runtime.requireProvider),
  };
  return { spec, config, configHash: hashJson(raw), overrides: parsedSets.map((o) => o.text) };
}

/**
 * A run's id: the config file's name and a short hash of what identifies the run, e.g.
 * `default-3f2a9c1b`. reproduce hashes the config (with its overrides) and every unit's key and
 * output, so rerunning an unchanged config lands on the same id and a variant never takes another's.
 */
export function runIdFor(configPath: string, content: unknown): string {
  const stem = basename(configPath, extname(configPath)).replace(/[^A-Za-z0-9_.-]/g, "_")
    .replace(/\.{2,}/g, "_").replace(/^[^A-Za-z0-9]/, "x");
  return `${stem}-${hashJson(content).slice(0, 8)}`;
}

/** The `--run-id` flag, checked (a usage error says why it cannot be one), or undefined. */
export function runIdFlag(values: Record<string, unknown>): string | undefined {
  const raw = values["run-id"];
  if (raw === undefined) return undefined;
  const why = runIdProblem(String(raw));
  if (why) throw new UsageError(`--run-id ${JSON.stringify(raw)}: ${why}`);
  return String(raw);
}

/**
 * Fails, naming the folder and why, when `dir` cannot be created or written (read-only, a file in
 * the way, or outside what this process may write): checked before any compute, so a run never
 * finishes its work unable to keep it.
 */
export async function assertWritable(dir: string, what: string): Promise<void> {
  const probe = join(dir, `.xcompare-write-check.${Deno.pid}`);
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (e) {
    const why = e instanceof Deno.errors.NotCapable
      ? "not among the folders Deno's --allow-write lets this process write"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : e instanceof Deno.errors.AlreadyExists || e instanceof Deno.errors.NotADirectory
      ? "a file is in the way"
      : (e as Error).message;
    throw new Error(`${dir}: cannot write the ${what} folder (${why}); nothing was computed`);
  }
}

/**
 * Renders the report stage's input into reports/<run-id>/, with this run's own provenance
 * (per-stage wall time, units computed and reused, model evaluations) added. `config` is the
 * report's config row: the file, and any `--set`. Returns the sha256 of each file it wrote (for
 * run.json, cli/run_record.ts), or null when the report unit has no output. The caller copies the
 * folder to reports/latest (`copyToLatest`) once its run.json is written.
 */
export async function publish(
  result: RunResult,
  spec: PipelineSpec<Config>,
  runId: string,
  runDir: string,
  config: string,
): Promise<Record<string, string> | null> {
  const rec = result.records.find((r) => r.stage === "report" && r.manifest);
  if (!rec?.manifest) return null;
  const { renderReport } = await import("../report/mod.ts");
  // Checked like a unit's input: a corrupt entry throws CorruptEntryError (`reproduce` recovers).
  const input = JSON.parse(
    new TextDecoder().decode(await readChecked(spec.store, rec.manifest, "report_input.json")),
  );
  input.run = { ...input.run, id: runId, config, created: new Date().toISOString() };
  const hashes = new Map<string, string>();
  for (const r of result.records) {
    for (const [f, h] of Object.entries(r.manifest?.components.files ?? {})) hashes.set(f, h);
  }
  const onnxOf = new Map(spec.config.models.map((m) => [m.id, m.onnx]));
  // The cached input holds the config without its runtime block (stages/report.ts): this run's.
  input.provenance.config = spec.config;
  for (const m of input.provenance?.models ?? []) m.sha256 = hashes.get(onnxOf.get(m.id) ?? "");
  Object.assign(input.provenance, runtimeProvenance(result));
  input.provenance.stages = result.summaries.map((s) => {
    const evals = result.records.filter((r) => r.stage === s.stage)
      .reduce((a, r) => a + (r.manifest?.counters.modelEvals ?? 0), 0);
    return {
      stage: s.stage,
      wall_s: Math.round(s.wallSeconds * 1000) / 1000,
      units_computed: s.computed,
      units_reused: s.reused,
      model_evals: evals,
    };
  });
  input.warnings = runWarnings(result, input.provenance?.execution_provider);
  const { files } = await renderReport(input, runDir);
  return await hashFiles(runDir, files);
}

/**
 * The runtime behind a run's results: the identities recorded in the keys of its units that ran a
 * model (reused ones included, so a final cluster job on a CPU node reports the shards' GPU), with
 * unit counts where they differ; this process's own where no unit ran a model.
 */
export function runtimeProvenance(
  result: Pick<RunResult, "records" | "runtime">,
): { onnxruntime_version?: string; execution_provider?: string } {
  const units = new Map<string, number>();
  const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const versions = new Map<string, number>();
  for (const r of result.records) {
    const rt = r.manifest?.components.runtime as RuntimeIdentity | null | undefined;
    if (!rt) continue;
    count(units, rt.provider);
    count(versions, rt.ortVersion);
  }
  const say = (m: Map<string, number>) =>
    m.size === 1
      ? [...m.keys()][0]
      : [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} (${n} units)`).join(", ");
  if (units.size === 0) {
    return result.runtime
      ? {
        onnxruntime_version: result.runtime.ortVersion,
        execution_provider: result.runtime.provider,
      }
      : {};
  }
  return { onnxruntime_version: say(versions), execution_provider: say(units) };
}

/** reports/latest: a copy of the last run's folder. */
export const LATEST = join(REPORTS, "latest");

/**
 * Makes reports/latest the copy of `runDir` (run `runId`, whose rendered files hash as `files`)
 * unless it already is one, every file intact: a rerun that computes nothing still moves `latest`
 * to the run it was asked for, and mends a damaged copy. Returns null when it did not copy, else
 * what was damaged ("" when `latest` held another run).
 */
export async function refreshLatest(
  runDir: string,
  runId: string,
  files: Record<string, string>,
): Promise<string | null> {
  const current = await Deno.readTextFile(join(LATEST, LOCK_NAME))
    .then((t) => (JSON.parse(t) as { runId?: string }).runId, () => undefined);
  // "" when it holds another run (what the rerun was asked for is reason enough), else the damage.
  const why = current !== runId ? "" : await changedFile(LATEST, files) ??
    // run.json is copied, not rendered, so it is checked against the run's own.
    await sameFile(join(runDir, RUN_RECORD), join(LATEST, RUN_RECORD));
  if (why === null) return null;
  await copyToLatest(runDir);
  return why;
}

/** Null when `copy` holds the same bytes as `original`, else what is wrong with it. */
async function sameFile(original: string, copy: string): Promise<string | null> {
  const hash = (p: string) => sha256File(p).catch(() => null);
  const [a, b] = await Promise.all([hash(original), hash(copy)]);
  if (b === null) return `${basename(copy)} is missing`;
  return a !== null && a === b ? null : `${basename(copy)} differs from the run's`;
}

/** Replaces reports/latest with a copy of `runDir` (`replaceDir`). */
export function copyToLatest(runDir: string): Promise<void> {
  return replaceDir(runDir, LATEST);
}
