/**
 * Runs a planned DAG over the store: keys every unit (pipeline/keys.ts), reuses what the store
 * holds, computes the rest stage by stage, and records every unit's outcome and key, which the
 * lockfile keeps. A failing unit never throws: it is recorded and its dependents are blocked.
 */
import { hashJson } from "../lib/hash.ts";
import { downstreamOf } from "./dag.ts";
import { FileHashes, keyComponents, LazyRuntime } from "./keys.ts";
import { type PipelineSpec, planAll, type PlannedStage } from "./plan.ts";
import { type ProgressOptions, StageProgress } from "./progress.ts";
import type { AnyStage, RunContext, RuntimeIdentity, UnitPlan } from "./stage.ts";
import type { KeyComponents, Manifest, Store } from "./store.ts";
import { unitIO } from "./unit_io.ts";

export interface RunOptions {
  /** Run only these stages; their upstream must already be in the store. */
  only: string[];
  /** Recompute this stage and everything downstream of it. */
  from?: string;
  /** Recompute these stages' units even when cached. */
  force: string[];
  dryRun: boolean;
  /** Recheck every reused file's sha256 (not only its size). */
  verify: boolean;
  /** Units computed concurrently within every stage; unset, each stage's own `streams`. */
  jobs?: number;
  /** Compute only units whose stable hash falls in shard `index` of `count`. */
  shard?: { index: number; count: number };
  progress: Partial<ProgressOptions>;
  log: (line: string) => void;
}

export const defaults: RunOptions = {
  only: [],
  force: [],
  dryRun: false,
  verify: false,
  progress: {},
  log: (l) => console.error(l),
};

export type UnitOutcome = "reused" | "computed" | "failed" | "blocked" | "skipped" | "planned";

export interface UnitRecord {
  stage: string;
  unit: string;
  outcome: UnitOutcome;
  key?: string;
  outputHash?: string;
  detail?: string;
  manifest?: Manifest;
}

export interface StageSummary {
  stage: string;
  units: number;
  computed: number;
  reused: number;
  failed: number;
  blocked: number;
  skipped: number;
  wallSeconds: number;
  counters: Record<string, number>;
}

export interface RunResult {
  records: UnitRecord[];
  summaries: StageSummary[];
  ok: boolean;
  runtime?: RuntimeIdentity;
}

/** Stable shard assignment of a unit. */
export function shardOf(stage: string, unit: string, count: number): number {
  const h = hashJson([stage, unit]);
  return parseInt(h.slice(0, 8), 16) % count;
}

/** What a run carries from stage to stage. */
interface Run<C> {
  spec: PipelineSpec<C>;
  o: RunOptions;
  plans: PlannedStage[];
  /** Stages whose cached units are ignored (`--force`, `--from`). */
  forced: Set<string>;
  files: FileHashes;
  runtime: LazyRuntime;
  /** `stage/unit` → manifest of every output available so far. */
  outputs: Map<string, Manifest>;
  records: UnitRecord[];
  /** Units a dry run would compute, so their dependents count as planned too. */
  planned: Set<string>;
}

/** A unit to compute, with its key. */
interface Todo {
  unit: UnitPlan;
  key: string;
  components: KeyComponents;
}

/** Runs the DAG. Never throws for a failing unit: it is recorded and its dependents are blocked. */
export async function runPipeline<C>(
  spec: PipelineSpec<C>,
  options: Partial<RunOptions> = {},
): Promise<RunResult> {
  const o: RunOptions = { ...defaults, ...options };
  const plans = await planAll(spec);
  const run: Run<C> = {
    spec,
    o,
    plans,
    forced: forcedStages(spec, plans, o),
    files: FileHashes.of(spec.store),
    runtime: new LazyRuntime(spec.runtime),
    outputs: new Map(),
    records: [],
    planned: new Set(),
  };
  const summaries: StageSummary[] = [];
  for (const planned of plans) summaries.push(await runStage(run, planned));
  return {
    records: run.records,
    summaries,
    ok: summaries.every((s) => s.failed === 0),
    runtime: run.runtime.value,
  };
}

/** The stages `--force` and `--from` name, after checking that every stage named exists. */
function forcedStages<C>(spec: PipelineSpec<C>, plans: PlannedStage[], o: RunOptions) {
  const names = new Set(plans.map((p) => p.stage.name));
  for (const s of [...o.only, ...o.force, ...(o.from ? [o.from] : [])]) {
    if (!names.has(s)) throw new Error(`unknown stage "${s}"; stages: ${[...names].join(", ")}`);
  }
  const forced = new Set(o.force);
  if (o.from) { for (const s of downstreamOf(spec.stages, o.from)) forced.add(s); }
  return forced;
}

/** One stage: sort its units into reused, blocked, skipped and to compute; compute those. */
async function runStage<C>(run: Run<C>, { stage, params, units }: PlannedStage) {
  const t0 = performance.now();
  const summary: StageSummary = {
    stage: stage.name,
    units: units.length,
    computed: 0,
    reused: 0,
    failed: 0,
    blocked: 0,
    skipped: 0,
    wallSeconds: 0,
    counters: {},
  };
  const todo: Todo[] = [];
  for (const unit of units) {
    const item = await triage(run, stage, unit, summary);
    if (item) todo.push(item);
  }
  if (todo.length > 0) await computeStage(run, stage, params, todo, summary);
  summary.wallSeconds = (performance.now() - t0) / 1000;
  await run.files.save();
  return summary;
}

/**
 * Records what happens to a unit that is not computed now (reused, blocked, another shard's,
 * planned by a dry run) and returns the ones to compute.
 */
async function triage<C>(
  run: Run<C>,
  stage: AnyStage,
  unit: UnitPlan,
  summary: StageSummary,
): Promise<Todo | null> {
  const { o, spec, records } = run;
  const id = `${stage.name}/${unit.id}`;
  const record = (r: Omit<UnitRecord, "stage" | "unit">) =>
    records.push({ stage: stage.name, unit: unit.id, ...r });
  const kc = await keyComponents(stage, unit, run.outputs, run.files, run.runtime.get);
  if ("missing" in kc && o.dryRun && run.planned.has(kc.missing)) {
    run.planned.add(id);
    record({ outcome: "planned", detail: `after ${kc.missing}` });
    return null;
  }
  if ("missing" in kc) {
    record({ outcome: "blocked", detail: `input ${kc.missing} has no output` });
    summary.blocked++;
    return null;
  }
  const { key, components } = kc;
  const check = run.forced.has(stage.name)
    ? { ok: false as const, reason: "missing" as const }
    : await spec.store.check(stage.name, key, o.verify);
  if (check.ok) {
    run.outputs.set(id, check.manifest);
    record({
      outcome: "reused",
      key,
      outputHash: check.manifest.outputHash,
      manifest: check.manifest,
    });
    summary.reused++;
    return null;
  }
  if (check.reason === "corrupt") {
    const moved = o.dryRun
      ? "(dry run: left in place)"
      : await spec.store.quarantine(stage.name, key);
    o.log(
      `${id}: cached entry ${
        key.slice(0, 12)
      } is corrupt (${check.detail}); moved to ${moved}, recomputing`,
    );
  }
  if (o.only.length > 0 && !o.only.includes(stage.name)) {
    record({
      outcome: "blocked",
      key,
      detail: "stage not selected (--only) and not in the store",
    });
    summary.blocked++;
    return null;
  }
  if (o.shard && shardOf(stage.name, unit.id, o.shard.count) !== o.shard.index) {
    record({ outcome: "skipped", key, detail: "another shard's unit" });
    summary.skipped++;
    return null;
  }
  if (o.dryRun) {
    run.planned.add(id);
    record({ outcome: "planned", key });
    return null;
  }
  return { unit, key, components };
}

/** Computes a stage's units, `--jobs` (or the stage's `streams`) at a time, between open and close. */
async function computeStage<C>(
  run: Run<C>,
  stage: AnyStage,
  params: unknown,
  todo: Todo[],
  summary: StageSummary,
) {
  const { o, spec } = run;
  const ctx: RunContext<unknown, C> = {
    config: spec.config,
    params,
    upstream: Object.fromEntries(run.plans.map((p) => [p.stage.name, p.units])),
    runtime: await run.runtime.get(),
  };
  const progress = new StageProgress(stage.name, todo.length, o.progress);
  if (stage.open) await stage.open(ctx);
  try {
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const item = todo[next++];
        const rec = await computeUnit(spec.store, stage, item, run.outputs, ctx, progress, o.log);
        run.records.push(rec);
        if (rec.outcome === "computed") {
          summary.computed++;
          run.outputs.set(`${stage.name}/${item.unit.id}`, rec.manifest!);
          for (const [k, v] of Object.entries(rec.manifest!.counters)) {
            summary.counters[k] = (summary.counters[k] ?? 0) + v;
          }
        } else summary.failed++;
        progress.unitDone(item.unit.id);
      }
    };
    const width = Math.max(1, o.jobs ?? stage.streams ?? 1);
    await Promise.all(Array.from({ length: width }, worker));
  } finally {
    progress.finish();
    if (stage.close) await stage.close();
  }
}

/** Runs one unit into a temporary entry and commits it; a failure removes the entry. */
async function computeUnit<C>(
  store: Store,
  stage: AnyStage,
  { unit, key, components }: Todo,
  outputs: Map<string, Manifest>,
  ctx: RunContext<unknown, C>,
  progress: StageProgress,
  log: (l: string) => void,
): Promise<UnitRecord> {
  const tmp = await store.begin(stage.name, key);
  const counters: Record<string, number> = {};
  // What the unit logs is kept in its manifest too, so a report shows it when the unit is reused.
  const logged: string[] = [];
  const io = unitIO({
    store,
    stage: stage.name,
    unit,
    outDir: tmp,
    outputs,
    progress,
    log: (line) => {
      logged.push(line);
      log(line);
    },
    counters,
  });
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  try {
    await stage.run(unit, io, ctx);
    const manifest = await store.commit(tmp, {
      stage: stage.name,
      unit: unit.id,
      key,
      components,
      startedAt,
      wallSeconds: (performance.now() - t0) / 1000,
      counters,
      provenance: {
        runtime: unit.runtime ? ctx.runtime : null,
        deno: Deno.version.deno,
        ...(logged.length ? { log: logged } : {}),
      },
    });
    return {
      stage: stage.name,
      unit: unit.id,
      outcome: "computed",
      key,
      outputHash: manifest.outputHash,
      manifest,
    };
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    const msg = e instanceof Error ? e.message : String(e);
    log(`${stage.name}/${unit.id}: FAILED: ${msg}`);
    return { stage: stage.name, unit: unit.id, outcome: "failed", key, detail: msg };
  }
}
