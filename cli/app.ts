/**
 * What the verbs share, defined once: where the store and the reports live, a config loaded into a
 * pipeline (with the checks its schema cannot make), run ids, and publishing a run's report.
 */
import { join } from "node:path";
import { loadConfig } from "./config.ts";
import { hashJson } from "../lib/hash.ts";
import { suggest } from "../lib/schema.ts";
import type { PipelineSpec } from "../pipeline/plan.ts";
import type { RunResult } from "../pipeline/runner.ts";
import { Store } from "../pipeline/store.ts";
import { type Config, configSchema } from "../configs/schema.ts";
import { runWarnings } from "./run_warnings.ts";
import { stages } from "../stages/index.ts";
import { probeRuntime } from "../runtime/probe.ts";

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

export async function loadPipeline(configPath: string): Promise<
  { spec: PipelineSpec<Config>; config: Config; configHash: string }
> {
  const { config, raw } = await loadConfig(configPath, configSchema);
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
  const spec: PipelineSpec<Config> = {
    stages,
    config,
    stageParams: (s) => config.stages[s],
    paramsPath: `${configPath}: config.stages`,
    store: new Store(ARTIFACTS),
    runtime: () => probeRuntime(config.runtime.providers),
  };
  return { spec, config, configHash: hashJson(raw) };
}

/** A new run's id: the UTC time and the config's name, e.g. `20240101-120000-default`. */
export function newRunId(configName: string): string {
  const t = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
  return `${t}-${configName.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
}

/**
 * Renders the report stage's input into reports/<run-id>/, with this run's own provenance
 * (per-stage wall time, units computed and reused, model evaluations) added, and
 * copies it to reports/latest.
 */
export async function publish(
  result: RunResult,
  spec: PipelineSpec<Config>,
  runId: string,
  runDir: string,
): Promise<boolean> {
  const rec = result.records.find((r) => r.stage === "report" && r.manifest);
  if (!rec?.manifest) return false;
  const { renderReport } = await import("../report/mod.ts");
  const input = JSON.parse(
    await Deno.readTextFile(
      join(spec.store.entryDir("report", rec.manifest.key), "report_input.json"),
    ),
  );
  input.run = { ...input.run, id: runId, created: new Date().toISOString() };
  const hashes = new Map<string, string>();
  for (const r of result.records) {
    for (const [f, h] of Object.entries(r.manifest?.components.files ?? {})) hashes.set(f, h);
  }
  const onnxOf = new Map(spec.config.models.map((m) => [m.id, m.onnx]));
  for (const m of input.provenance?.models ?? []) m.sha256 = hashes.get(onnxOf.get(m.id) ?? "");
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
  await renderReport(input, runDir);
  await replaceDir(runDir, join(REPORTS, "latest"));
  return true;
}

/**
 * Copies `src` to `dest`, replacing it (a copy rather than a symlink: Deno's scoped write
 * permission cannot create symlinks, and a copy survives moving the folder).
 */
async function replaceDir(src: string, dest: string): Promise<void> {
  const tmp = `${dest}.${Deno.pid}.tmp`;
  await copyDir(src, tmp);
  await Deno.remove(dest, { recursive: true }).catch(() => {});
  await Deno.rename(tmp, dest);
}

async function copyDir(src: string, dest: string): Promise<void> {
  await Deno.mkdir(dest, { recursive: true });
  for await (const e of Deno.readDir(src)) {
    if (e.isDirectory) await copyDir(join(src, e.name), join(dest, e.name));
    else await Deno.copyFile(join(src, e.name), join(dest, e.name));
  }
}
