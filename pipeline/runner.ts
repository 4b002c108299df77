/**
 * Runs a planned DAG over the store: keys every unit (pipeline/keys.ts), reuses what the store
 * holds, computes the rest stage by stage, and records every unit's outcome and key, which the
 * lockfile keeps. A failing unit never throws: it is recorded and its dependents are blocked.
 * After SIGINT or SIGTERM (pipeline/shutdown.ts) no new unit starts and the run ends not ok.
 *
 * Units read their inputs through checked reads (pipeline/checked_read.ts). A read that finds an
 * input corrupt fails its unit and moves the input's entry aside; once the pass is over, the DAG
 * runs again: the moved unit is missing, so it is recomputed, and everything keyed on it follows
 * its content (reused when the content comes back the same, as it does for deterministic stages).
 */
import { hashJson } from "../lib/hash.ts";
import {
  type CorruptEntryError,
  emptyReadStats,
  quarantineCorrupt,
  type ReadCheckStats,
} from "./checked_read.ts";
import { downstreamOf } from "./dag.ts";
import { FileHashes, keyComponents, LazyRuntime } from "./keys.ts";
import { type PipelineSpec, planAll, type PlannedStage } from "./plan.ts";
import { type ProgressOptions, StageProgress } from "./progress.ts";
import { stopRequested, track } from "./shutdown.ts";
import type { AnyStage, RunContext, RuntimeIdentity, UnitPlan } from "./stage.ts";
import type { KeyComponents, Manifest } from "./store.ts";
import { unitIO } from "./unit_io.ts";
import { type MovedEntry, type VerifyReport, verifyStore } from "./verify.ts";

export interface RunOptions {
  /** Run only these stages; their upstream must already be in the store. */
  only: string[];
  /** Recompute this stage and everything downstream of it. */
  from?: string;
  /** Recompute these stages' units even when cached. */
  force: string[];
  dryRun: boolean;
  /**
   * Re-hash the whole store before the run (pipeline/verify.ts): corrupt entries, and entries built
   * from them without checked reads, are moved aside and recomputed if the run needs them.
   */
  verify: boolean;
  /** Units computed concurrently within every stage; unset, each stage's own `streams`. */
  jobs?: number;
  /** Compute only units whose stable hash falls in shard `index` of `count`. */
  shard?: { index: number; count: number };
  /**
   * Runtime identities other processes recorded, tried in order before this process's own when
   * keying a unit that depends on the runtime: the first whose entry is in the store is reused.
   * A final cluster job passes its shards' (METHODS §8), so a CPU node reuses their GPU units.
   * Units computed here are always keyed with this process's runtime.
   */
  reuseRuntimes: RuntimeIdentity[];
  progress: Partial<ProgressOptions>;
  log: (line: string) => void;
}

export const defaults: RunOptions = {
  only: [],
  force: [],
  reuseRuntimes: [],
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
  /** A blocked unit's input (`stage/unit`) that has no output. */
  waitingOn?: string;
  manifest?: Manifest;
  /** Failed because an input was corrupt: the next pass computes it again. */
  corruptInput?: true;
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

/** An entry the run moved aside (or, in a dry run, would have). */
export interface QuarantinedEntry {
  stage: string;
  key: string;
  unit?: string;
  /**
   * How it was found: `--verify`'s hashing (`verify`; `verify-derived` for an entry built from a
   * corrupt one without checked reads), the reuse check of sizes (`reuse`), or a unit's checked
   * read (`read`).
   */
  found: "verify" | "verify-derived" | "reuse" | "read";
  detail: string;
  /** Where it went; null in a dry run, or when another reader had moved it already. */
  to: string | null;
}

export interface RunResult {
  records: UnitRecord[];
  summaries: StageSummary[];
  ok: boolean;
  /** The signal that stopped the run before it planned or computed every unit. */
  stopped?: Deno.Signal;
  runtime?: RuntimeIdentity;
  quarantined: QuarantinedEntry[];
  /** `--verify`'s pass over the store. */
  verified?: VerifyReport;
  /** What the checked reads cost, over all passes. */
  readChecks: ReadCheckStats;
  /** Passes over the DAG: one more after each pass whose reads found a corrupt input. */
  passes: number;
}

/** Passes at most: each further one needs a corrupt input found by the one before. */
export const maxPasses = 4;

/** Stable shard assignment of a unit. */
export function shardOf(stage: string, unit: string, count: number): number {
  const h = hashJson([stage, unit]);
  return parseInt(h.slice(0, 8), 16) % count;
}

/**
 * Units this run was asked to compute (its `--only` stages, its shard) that an input without
 * output kept from running: a wave's shard must not pass for done while they exist.
 */
export function blockedSelected(
  records: UnitRecord[],
  o: Pick<RunOptions, "only" | "shard">,
): UnitRecord[] {
  return records.filter((r) =>
    r.waitingOn && o.only.includes(r.stage) &&
    (!o.shard || shardOf(r.stage, r.unit, o.shard.count) === o.shard.index)
  );
}

/** What a run carries from pass to pass. */
interface Shared<C> {
  spec: PipelineSpec<C>;
  o: RunOptions;
  plans: PlannedStage[];
  /** Stages whose cached units are ignored (`--force`, `--from`). */
  forced: Set<string>;
  files: FileHashes;
  runtime: LazyRuntime;
  quarantined: QuarantinedEntry[];
  readStats: ReadCheckStats;
  /** `stage\0key` of entries `--verify` found bad in a dry run (left in place, not reused). */
  condemned: Map<string, string>;
  /** `stage\0key` → record of a unit an earlier pass computed: reused, even where forced. */
  computedBefore: Map<string, UnitRecord>;
  /** `stage\0key` → record of a unit an earlier pass failed on its own: not retried. */
  failedBefore: Map<string, UnitRecord>;
}

/** What a pass carries from stage to stage. */
interface Run<C> extends Shared<C> {
  /** `stage/unit` → manifest of every output available so far. */
  outputs: Map<string, Manifest>;
  records: UnitRecord[];
  /** Units a dry run would compute, so their dependents count as planned too. */
  planned: Set<string>;
  /** Set when a checked read found a corrupt input: another pass follows. */
  again: boolean;
}

/** A unit to compute, with its key. */
interface Todo {
  unit: UnitPlan;
  key: string;
  components: KeyComponents;
}

const entryId = (stage: string, key: string) => `${stage}\0${key}`;

/** Runs the DAG. Never throws for a failing unit: it is recorded and its dependents are blocked. */
export async function runPipeline<C>(
  spec: PipelineSpec<C>,
  options: Partial<RunOptions> = {},
): Promise<RunResult> {
  const o: RunOptions = { ...defaults, ...options };
  const plans = await planAll(spec);
  const shared: Shared<C> = {
    spec,
    o,
    plans,
    forced: forcedStages(spec, plans, o),
    files: FileHashes.of(spec.store),
    runtime: new LazyRuntime(spec.runtime),
    quarantined: [],
    readStats: emptyReadStats(),
    condemned: new Map(),
    computedBefore: new Map(),
    failedBefore: new Map(),
  };
  const verified = o.verify ? await verifyStore(spec.store, o) : undefined;
  const moved = (found: "verify" | "verify-derived") => (m: MovedEntry) => {
    const { stage, key, unit, reason: detail, to } = m;
    shared.quarantined.push({ stage, key, unit, found, detail, to });
    if (o.dryRun) shared.condemned.set(entryId(m.stage, m.key), m.reason);
  };
  verified?.corrupt.forEach(moved("verify"));
  verified?.derived.forEach(moved("verify-derived"));
  const passes: { records: UnitRecord[]; summaries: StageSummary[] }[] = [];
  for (let pass = 1;; pass++) {
    const run: Run<C> = {
      ...shared,
      outputs: new Map(),
      records: [],
      planned: new Set(),
      again: false,
    };
    const summaries: StageSummary[] = [];
    for (const planned of plans) {
      if (stopRequested()) break;
      summaries.push(await runStage(run, planned));
    }
    passes.push({ records: run.records, summaries });
    if (!run.again || stopRequested()) break;
    if (pass === maxPasses) {
      o.log(`corrupt inputs found in ${pass} passes in a row; giving up (is the disk failing?)`);
      break;
    }
    for (const r of run.records) {
      if (r.outcome === "computed") shared.computedBefore.set(entryId(r.stage, r.key!), r);
      if (r.outcome === "failed" && !r.corruptInput) {
        shared.failedBefore.set(entryId(r.stage, r.key!), r);
      }
    }
    o.log(
      `pass ${pass + 1}: recomputing the corrupt entries moved aside, and what depends on them`,
    );
  }
  const { records, summaries } = mergePasses(passes);
  const stopped = stopRequested() ?? undefined;
  return {
    records,
    summaries,
    ok: !stopped && summaries.every((s) => s.failed === 0),
    ...(stopped ? { stopped } : {}),
    runtime: shared.runtime.value,
    quarantined: shared.quarantined,
    verified,
    readChecks: shared.readStats,
    passes: passes.length,
  };
}

/**
 * The last pass's records and summaries, with the units earlier passes computed counted as
 * computed (the last pass found them in the store) and every pass's wall time added up.
 */
function mergePasses(
  passes: { records: UnitRecord[]; summaries: StageSummary[] }[],
): { records: UnitRecord[]; summaries: StageSummary[] } {
  const last = passes[passes.length - 1];
  if (passes.length === 1) return last;
  const computed = new Map<string, UnitRecord>();
  for (const p of passes.slice(0, -1)) {
    for (const r of p.records) {
      if (r.outcome === "computed") computed.set(entryId(r.stage, r.key!), r);
    }
  }
  const summaries = last.summaries.map((s) => ({
    ...s,
    counters: { ...s.counters },
    wallSeconds: passes.reduce(
      (t, p) => t + (p.summaries.find((x) => x.stage === s.stage)?.wallSeconds ?? 0),
      0,
    ),
  }));
  const records = last.records.map((r) => {
    const before = r.outcome === "reused" ? computed.get(entryId(r.stage, r.key!)) : undefined;
    if (!before) return r;
    const s = summaries.find((x) => x.stage === r.stage)!;
    s.reused--;
    s.computed++;
    for (const [k, v] of Object.entries(before.manifest!.counters)) {
      s.counters[k] = (s.counters[k] ?? 0) + v;
    }
    return before;
  });
  return { records, summaries };
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
  const recorded = await reuseRecorded(run, stage, unit);
  if (recorded) {
    run.outputs.set(id, recorded);
    record({
      outcome: "reused",
      key: recorded.key,
      outputHash: recorded.outputHash,
      manifest: recorded,
    });
    summary.reused++;
    return null;
  }
  const kc = await keyComponents(stage, unit, run.outputs, run.files, run.runtime.get);
  if ("missing" in kc && o.dryRun && run.planned.has(kc.missing)) {
    run.planned.add(id);
    record({ outcome: "planned", detail: `after ${kc.missing}` });
    return null;
  }
  if ("missing" in kc) {
    record({
      outcome: "blocked",
      detail: `input ${kc.missing} has no output`,
      waitingOn: kc.missing,
    });
    summary.blocked++;
    return null;
  }
  const { key, components } = kc;
  const eid = entryId(stage.name, key);
  const failedBefore = run.failedBefore.get(eid);
  if (failedBefore) {
    records.push(failedBefore);
    summary.failed++;
    return null;
  }
  const condemned = run.condemned.get(eid);
  // Sizes only: `--verify` hashed the whole store already, and what a unit reads it checks.
  const check = run.forced.has(stage.name) && !run.computedBefore.has(eid)
    ? { ok: false as const, reason: "missing" as const }
    : condemned !== undefined
    ? { ok: false as const, reason: "corrupt" as const, detail: condemned }
    : await spec.store.check(stage.name, key, false);
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
  if (check.reason === "corrupt" && condemned === undefined) {
    const to = o.dryRun ? null : await spec.store.quarantine(stage.name, key);
    run.quarantined.push({
      stage: stage.name,
      key,
      unit: unit.id,
      found: "reuse",
      detail: check.detail,
      to,
    });
    o.log(
      `${id}: cached entry ${key.slice(0, 12)} is corrupt (${check.detail}); ${
        to ? `moved to ${to}, recomputing` : "(dry run: left in place)"
      }`,
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

/**
 * The store's entry of a runtime-dependent unit keyed with one of `reuseRuntimes` (the first found,
 * in order), or null. Forced stages reuse nothing; a corrupt entry is moved aside, as any other.
 */
async function reuseRecorded<C>(
  run: Run<C>,
  stage: AnyStage,
  unit: UnitPlan,
): Promise<Manifest | null> {
  const { o, spec } = run;
  if (!unit.runtime || run.forced.has(stage.name)) return null;
  for (const rt of o.reuseRuntimes) {
    const kc = await keyComponents(stage, unit, run.outputs, run.files, () => Promise.resolve(rt));
    if ("missing" in kc) return null;
    const check = await spec.store.check(stage.name, kc.key, o.verify);
    if (check.ok) return check.manifest;
    if (check.reason === "corrupt") {
      const moved = o.dryRun
        ? "(dry run: left in place)"
        : await spec.store.quarantine(stage.name, kc.key);
      o.log(
        `${stage.name}/${unit.id}: cached entry ${kc.key.slice(0, 12)} (${rt.provider}) is ` +
          `corrupt (${check.detail}); moved to ${moved}`,
      );
    }
  }
  return null;
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
      while (next < todo.length && !stopRequested()) {
        const item = todo[next++];
        const rec = await track(computeUnit(run, stage, item, ctx, progress));
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

/**
 * Runs one unit into a temporary entry and commits it; a failure removes the entry. A unit that
 * read a corrupt input fails even if the stage caught the error: its entry goes, the input's
 * entry is moved aside, and the next pass computes both again.
 */
async function computeUnit<C>(
  run: Run<C>,
  stage: AnyStage,
  { unit, key, components }: Todo,
  ctx: RunContext<unknown, C>,
  progress: StageProgress,
): Promise<UnitRecord> {
  const { spec: { store }, o: { log } } = run;
  const tmp = await store.begin(stage.name, key);
  const counters: Record<string, number> = {};
  const timings: Record<string, unknown> = {};
  const corrupt: CorruptEntryError[] = [];
  // What the unit logs is kept in its manifest too, so a report shows it when the unit is reused.
  const logged: string[] = [];
  const io = unitIO({
    store,
    stage: stage.name,
    unit,
    outDir: tmp,
    outputs: run.outputs,
    progress,
    log: (line) => {
      logged.push(line);
      log(line);
    },
    counters,
    timings,
    readStats: run.readStats,
    onCorrupt: (e) => corrupt.push(e),
  });
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  try {
    await stage.run(unit, io, ctx);
    if (corrupt.length > 0) throw corrupt[0];
    const manifest = await store.commit(tmp, {
      stage: stage.name,
      unit: unit.id,
      key,
      components,
      counters,
      provenance: {
        runtime: unit.runtime ? ctx.runtime : null,
        deno: Deno.version.deno,
        ...(logged.length ? { log: logged } : {}),
      },
      readsChecked: true,
    }, { startedAt, wallSeconds: (performance.now() - t0) / 1000, ...timings });
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
    if (corrupt.length > 0) return await corruptInput(run, stage.name, unit.id, key, corrupt);
    const msg = e instanceof Error ? e.message : String(e);
    log(`${stage.name}/${unit.id}: FAILED: ${msg}`);
    return { stage: stage.name, unit: unit.id, outcome: "failed", key, detail: msg };
  }
}

/** A unit that read corrupt inputs: they are moved aside, and another pass is due. */
async function corruptInput<C>(
  run: Run<C>,
  stage: string,
  unit: string,
  key: string,
  corrupt: CorruptEntryError[],
): Promise<UnitRecord> {
  run.again = true;
  for (const e of corrupt) {
    const to = await quarantineCorrupt(run.spec.store, e);
    if (!to) continue;
    run.quarantined.push({
      stage: e.stage,
      key: e.key,
      unit: e.unit,
      found: "read",
      detail: `${e.file} ${e.detail}`,
      to,
    });
    run.o.log(
      `${stage}/${unit}: input ${e.message}; moved to ${to}, recomputing it and what was built from it`,
    );
  }
  const detail = `input ${corrupt[0].message}; moved aside for the next pass`;
  return { stage, unit, outcome: "failed", key, detail, corruptInput: true };
}
