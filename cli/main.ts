/**
 * `deno task xcompare <verb>`: the one entry point. Argument parsing lives in args.ts; each verb
 * dispatches to the module that does the work.
 */
import { join } from "node:path";
import { intFlag, parse, shardFlag, UsageError } from "./args.ts";
import { loadConfig } from "./config.ts";
import { hashJson } from "../lib/hash.ts";
import { buildLock, LOCK_NAME, readLocks, writeAtomic } from "../pipeline/lockfile.ts";
import { RunLock } from "../pipeline/runlock.ts";
import { type PipelineSpec, runPipeline, type RunResult } from "../pipeline/runner.ts";
import { formatStatus, pipelineStatus } from "../pipeline/status.ts";
import { Store } from "../pipeline/store.ts";
import { gcStore } from "../pipeline/gc.ts";
import { formatDuration } from "../pipeline/progress.ts";
import { suggest } from "../lib/schema.ts";
import { type Config, configSchema } from "../configs/schema.ts";
import { stages } from "../stages/index.ts";
import { probeRuntime } from "../runtime/probe.ts";

/** The store and the reports folder; overridable (tests, a shared cluster store) by environment. */
export const ARTIFACTS = Deno.env.get("XCOMPARE_ARTIFACTS") ?? "artifacts";
export const REPORTS = Deno.env.get("XCOMPARE_REPORTS") ?? "reports";
export const DEFAULT_CONFIG = "configs/default.json";

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

function runIdFor(config: Config): string {
  const t = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
  return `${t}-${config.name.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
}

function summaryTable(result: RunResult): string {
  const rows = result.summaries.map((s) => {
    const evals = s.counters.modelEvals ? `  model evals ${s.counters.modelEvals}` : "";
    return `  ${s.stage.padEnd(16)} computed ${String(s.computed).padStart(4)}  reused ${
      String(s.reused).padStart(4)
    }${s.failed ? `  FAILED ${s.failed}` : ""}${s.blocked ? `  blocked ${s.blocked}` : ""}${
      s.skipped ? `  other shards ${s.skipped}` : ""
    }  ${formatDuration(s.wallSeconds).padStart(7)}${evals}`;
  });
  return ["summary:", ...rows].join("\n");
}

/**
 * Renders the report stage's input into reports/<run-id>/, with this run's own provenance
 * (per-stage wall time, units computed and reused, model evaluations) added, and
 * copies it to reports/latest.
 */
async function publish(
  result: RunResult,
  spec: PipelineSpec<Config>,
  runId: string,
  runDir: string,
) {
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

async function reproduce(values: Record<string, unknown>): Promise<number> {
  const configPath = (values.config as string) ?? DEFAULT_CONFIG;
  const { spec, config, configHash } = await loadPipeline(configPath);
  const shard = shardFlag(values.shard);
  const lock = await RunLock.acquire(
    ARTIFACTS,
    shard ? `run-shard-${shard.index}-of-${shard.count}` : "run",
    { wait: !values["no-wait"] },
  );
  try {
    const runId = (values["run-id"] as string) ?? runIdFor(config);
    const result = await runPipeline(spec, {
      only: (values.only as string[]) ?? [],
      force: (values.force as string[]) ?? [],
      from: values.from as string | undefined,
      dryRun: Boolean(values["dry-run"]),
      verify: Boolean(values.verify),
      jobs: values.jobs === undefined
        ? undefined
        : intFlag(values as Record<string, string>, "jobs", 1),
      shard,
    });
    if (values["dry-run"]) {
      for (const s of result.summaries) {
        const planned = result.records.filter((r) =>
          r.stage === s.stage && r.outcome === "planned"
        );
        console.log(
          `${s.stage}: ${planned.length} to compute, ${s.reused} cached${
            s.blocked ? `, ${s.blocked} waiting on upstream` : ""
          }`,
        );
      }
      return 0;
    }
    const runDir = join(REPORTS, shard ? `${runId}-shard-${shard.index}-of-${shard.count}` : runId);
    await Deno.mkdir(runDir, { recursive: true });
    await writeAtomic(
      join(runDir, LOCK_NAME),
      JSON.stringify(buildLock(runId, configPath, configHash, result.records), null, 1),
    );
    await writeAtomic(
      join(runDir, "run.json"),
      JSON.stringify(
        { runId, config: configPath, runtime: result.runtime, shard, summaries: result.summaries },
        null,
        1,
      ),
    );
    const published = !shard && await publish(result, spec, runId, runDir);
    console.log(summaryTable(result));
    for (const r of result.records.filter((r) => r.outcome === "failed")) {
      console.log(`FAILED ${r.stage}/${r.unit}: ${r.detail}`);
    }
    console.log(
      published
        ? `report: ${runDir}/report.md (and report.html; copied to ${join(REPORTS, "latest")})`
        : `lockfile: ${runDir}/${LOCK_NAME}`,
    );
    return result.ok ? 0 : 1;
  } finally {
    await lock.release();
  }
}

async function status(values: Record<string, unknown>): Promise<number> {
  const configPath = (values.config as string) ?? DEFAULT_CONFIG;
  const { spec } = await loadPipeline(configPath);
  const prev =
    (await readLocks(REPORTS)).find((l) => l.config === configPath && !/-shard-/.test(l.runId)) ??
      null;
  console.log(
    `status of ${configPath}${prev ? ` against run ${prev.runId}` : " (no earlier run)"}:`,
  );
  console.log(formatStatus(await pipelineStatus(spec, prev)));
  return 0;
}

async function gc(values: Record<string, unknown>): Promise<number> {
  const r = await gcStore(new Store(ARTIFACTS), REPORTS, {
    dryRun: Boolean(values["dry-run"]),
    force: Boolean(values.force),
    wait: !values["no-wait"],
  });
  console.log(
    `${values["dry-run"] ? "would remove" : "removed"} ${r.removed.length} entries (${
      (r.bytesFreed / 1e6).toFixed(1)
    } MB); kept ${r.kept} referenced by ${r.lockfiles} lockfiles`,
  );
  return 0;
}

const handlers: Record<string, (v: Record<string, unknown>) => Promise<number>> = {
  reproduce,
  status,
  gc,
  evaluate: async (v) => (await import("./evaluate.ts")).evaluateVerb(v),
  "grad-check": async (v) => (await import("./grad_check.ts")).gradCheckVerb(v),
  plan: async (v) => (await import("./plan.ts")).planVerb(v),
  slurm: async (v) => (await import("./cluster.ts")).slurmVerb(v),
  k8s: async (v) => (await import("./cluster.ts")).k8sVerb(v),
};

export async function main(argv: string[]): Promise<number> {
  try {
    const { verb, values } = parse(argv);
    if (values.help) {
      console.log((await import("./args.ts")).usage(verb));
      return 0;
    }
    return await handlers[verb](values);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(e.message);
      return 2;
    }
    console.error(`xcompare: ${e instanceof Error ? e.message : e}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
