/**
 * Runs a DAG of stages over the store: plans every stage's units, keys each unit by its code,
 * params, input contents and runtime, reuses what the store holds, computes the rest, and records
 * a lockfile naming every key used. Also answers `status` (fresh or stale, and why).
 */
import { join } from "node:path";
import { codeClosure, hashJson, sha256File } from "../lib/hash.ts";
import { StageProgress } from "./progress.ts";
import type { KeyComponents, Manifest } from "./store.ts";
import { Store } from "./store.ts";
import type { RuntimeIdentity, Stage, UnitIO, UnitPlan, UnitRef } from "./stage.ts";
import type { ProgressOptions } from "./progress.ts";

// deno-lint-ignore no-explicit-any
export type AnyStage = Stage<any, any>;

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

export interface PipelineSpec<C> {
  stages: AnyStage[];
  config: C;
  /** Raw params block of a stage from the config (validated by the stage's schema). */
  stageParams: (stage: string) => unknown;
  /** Path prefix for params errors, e.g. `configs/default.json: stages`. */
  paramsPath?: string;
  store: Store;
  runtime: () => Promise<RuntimeIdentity>;
}

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

/** Stages in dependency order; unknown or cyclic `after` names are errors. */
export function orderStages(stages: AnyStage[]): AnyStage[] {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const out: AnyStage[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (s: AnyStage, trail: string[]) => {
    const st = state.get(s.name);
    if (st === "done") return;
    if (st === "visiting") throw new Error(`stage cycle: ${[...trail, s.name].join(" → ")}`);
    state.set(s.name, "visiting");
    for (const a of s.after) {
      const up = byName.get(a);
      if (!up) throw new Error(`stage ${s.name}: unknown upstream stage "${a}"`);
      visit(up, [...trail, s.name]);
    }
    state.set(s.name, "done");
    out.push(s);
  };
  for (const s of stages) visit(s, []);
  return out;
}

/** All stages downstream of `name`, itself included. */
export function downstreamOf(stages: AnyStage[], name: string): Set<string> {
  const out = new Set([name]);
  for (const s of orderStages(stages)) if (s.after.some((a) => out.has(a))) out.add(s.name);
  return out;
}

/** Stable shard assignment of a unit. */
export function shardOf(stage: string, unit: string, count: number): number {
  const h = hashJson([stage, unit]);
  return parseInt(h.slice(0, 8), 16) % count;
}

/** sha256 of external files, remembered per (path, size, mtime) so big inputs hash once. */
export class FileHashes {
  #cache: Record<string, { size: number; mtime: number; sha256: string }> = {};
  #dirty = false;
  constructor(readonly path: string) {
    try {
      this.#cache = JSON.parse(Deno.readTextFileSync(path));
    } catch { /* first use */ }
  }
  async get(file: string): Promise<string> {
    let st: Deno.FileInfo;
    try {
      st = await Deno.stat(file);
    } catch {
      throw new Error(`${file}: input file not found`);
    }
    const mtime = st.mtime?.getTime() ?? 0;
    const c = this.#cache[file];
    if (c && c.size === st.size && c.mtime === mtime) return c.sha256;
    const sha = await sha256File(file);
    this.#cache[file] = { size: st.size, mtime, sha256: sha };
    this.#dirty = true;
    return sha;
  }
  async save(): Promise<void> {
    if (!this.#dirty) return;
    const tmp = `${this.path}.${Deno.pid}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(this.#cache));
    await Deno.rename(tmp, this.path);
    this.#dirty = false;
  }
}

interface Planned {
  stage: AnyStage;
  params: unknown;
  units: UnitPlan[];
}

/** Validates every stage's params and plans every unit, before anything runs. */
export async function planAll<C>(spec: PipelineSpec<C>): Promise<Planned[]> {
  const ordered = orderStages(spec.stages);
  const upstream: Record<string, UnitPlan[]> = {};
  const out: Planned[] = [];
  // Every stage's params are validated before any stage plans, so a typo fails fast.
  const allParams = ordered.map((stage) =>
    stage.params.parse(
      spec.stageParams(stage.name) ?? {},
      `${spec.paramsPath ?? "stages"}.${stage.name}`,
    )
  );
  for (const [si, stage] of ordered.entries()) {
    const params = allParams[si];
    const units = await stage.plan({ config: spec.config, params, upstream });
    const ids = new Set<string>();
    for (const u of units) {
      if (ids.has(u.id)) throw new Error(`stage ${stage.name}: duplicate unit id ${u.id}`);
      ids.add(u.id);
      for (const ref of u.inputs) {
        if (!stage.after.includes(ref.stage)) {
          throw new Error(
            `stage ${stage.name}, unit ${u.id}: reads ${ref.stage}, which is not in its "after" list`,
          );
        }
        if (!upstream[ref.stage]?.some((x) => x.id === ref.unit)) {
          throw new Error(
            `stage ${stage.name}, unit ${u.id}: unknown input ${ref.stage}/${ref.unit}`,
          );
        }
      }
    }
    upstream[stage.name] = units;
    out.push({ stage, params, units });
  }
  return out;
}

const refKey = (r: UnitRef) => `${r.stage}/${r.unit}`;

/**
 * A unit's key and what it is made of, or the first input that has no output (yet). `status`
 * passes `missingFile` to report an absent input file instead of failing on it.
 */
export async function keyComponents(
  stage: AnyStage,
  unit: UnitPlan,
  outputs: Map<string, Manifest>,
  files: FileHashes,
  runtime: () => Promise<RuntimeIdentity>,
  missingFile?: string,
): Promise<{ components: KeyComponents; key: string } | { missing: string }> {
  const code = await codeClosure(stage.module);
  const inputs: Record<string, string> = {};
  for (const ref of unit.inputs) {
    const m = outputs.get(refKey(ref));
    if (!m) return { missing: refKey(ref) };
    inputs[refKey(ref)] = m.outputHash;
  }
  const fileHashes: Record<string, string> = {};
  for (const f of unit.files ?? []) {
    fileHashes[f] = missingFile === undefined
      ? await files.get(f)
      : await files.get(f).catch(() => missingFile);
  }
  const components: KeyComponents = {
    code: code.hash,
    codeFiles: code.files,
    params: unit.params,
    paramsHash: hashJson(unit.params ?? null),
    inputs,
    files: fileHashes,
    runtime: unit.runtime ? await runtime() : null,
  };
  const key = hashJson({
    stage: stage.name,
    unit: unit.id,
    code: components.code,
    params: components.paramsHash,
    inputs,
    files: fileHashes,
    runtime: components.runtime,
  });
  return { components, key };
}

/** Runs the DAG. Never throws for a failing unit: it is recorded and its dependents are blocked. */
export async function runPipeline<C>(
  spec: PipelineSpec<C>,
  options: Partial<RunOptions> = {},
): Promise<RunResult> {
  const o: RunOptions = { ...defaults, ...options };
  const plans = await planAll(spec);
  const names = new Set(plans.map((p) => p.stage.name));
  for (const s of [...o.only, ...o.force, ...(o.from ? [o.from] : [])]) {
    if (!names.has(s)) throw new Error(`unknown stage "${s}"; stages: ${[...names].join(", ")}`);
  }
  const forced = new Set(o.force);
  if (o.from) { for (const s of downstreamOf(spec.stages, o.from)) forced.add(s); }
  const files = new FileHashes(join(spec.store.root, ".file-hashes.json"));
  let runtimeValue: RuntimeIdentity | undefined;
  const runtime = async () => runtimeValue ??= await spec.runtime();
  const outputs = new Map<string, Manifest>();
  const records: UnitRecord[] = [];
  const summaries: StageSummary[] = [];
  /** Units a dry run would compute, so their dependents count as planned too. */
  const planned = new Set<string>();

  for (const { stage, params, units } of plans) {
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
    const selected = o.only.length === 0 || o.only.includes(stage.name);
    const todo: { unit: UnitPlan; key: string; components: KeyComponents }[] = [];
    for (const unit of units) {
      const kc = await keyComponents(stage, unit, outputs, files, runtime);
      if ("missing" in kc && o.dryRun && planned.has(kc.missing)) {
        planned.add(`${stage.name}/${unit.id}`);
        records.push({
          stage: stage.name,
          unit: unit.id,
          outcome: "planned",
          detail: `after ${kc.missing}`,
        });
        continue;
      }
      if ("missing" in kc) {
        records.push({
          stage: stage.name,
          unit: unit.id,
          outcome: "blocked",
          detail: `input ${kc.missing} has no output`,
        });
        summary.blocked++;
        continue;
      }
      const { key, components } = kc;
      const check = forced.has(stage.name)
        ? { ok: false as const, reason: "missing" as const }
        : await spec.store.check(stage.name, key, o.verify);
      if (check.ok) {
        outputs.set(`${stage.name}/${unit.id}`, check.manifest);
        records.push({
          stage: stage.name,
          unit: unit.id,
          outcome: "reused",
          key,
          outputHash: check.manifest.outputHash,
          manifest: check.manifest,
        });
        summary.reused++;
        continue;
      }
      if (check.reason === "corrupt") {
        const moved = o.dryRun
          ? "(dry run: left in place)"
          : await spec.store.quarantine(stage.name, key);
        o.log(
          `${stage.name}/${unit.id}: cached entry ${
            key.slice(0, 12)
          } is corrupt (${check.detail}); moved to ${moved}, recomputing`,
        );
      }
      if (!selected) {
        records.push({
          stage: stage.name,
          unit: unit.id,
          outcome: "blocked",
          key,
          detail: "stage not selected (--only) and not in the store",
        });
        summary.blocked++;
        continue;
      }
      if (o.shard && shardOf(stage.name, unit.id, o.shard.count) !== o.shard.index) {
        records.push({
          stage: stage.name,
          unit: unit.id,
          outcome: "skipped",
          key,
          detail: "another shard's unit",
        });
        summary.skipped++;
        continue;
      }
      if (o.dryRun) {
        planned.add(`${stage.name}/${unit.id}`);
        records.push({ stage: stage.name, unit: unit.id, outcome: "planned", key });
        continue;
      }
      todo.push({ unit, key, components });
    }

    if (todo.length > 0) {
      const rt = await runtime();
      const ctx = {
        config: spec.config,
        params,
        upstream: Object.fromEntries(plans.map((p) => [p.stage.name, p.units])),
        runtime: rt,
      };
      const progress = new StageProgress(stage.name, todo.length, o.progress);
      if (stage.open) await stage.open(ctx);
      try {
        let next = 0;
        const worker = async () => {
          while (next < todo.length) {
            const item = todo[next++];
            const rec = await computeUnit(
              spec.store,
              stage,
              item,
              outputs,
              ctx,
              progress,
              o.log,
              rt,
            );
            records.push(rec);
            if (rec.outcome === "computed") {
              summary.computed++;
              outputs.set(`${stage.name}/${item.unit.id}`, rec.manifest!);
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
    summary.wallSeconds = (performance.now() - t0) / 1000;
    summaries.push(summary);
    await files.save();
  }
  return {
    records,
    summaries,
    ok: summaries.every((s) => s.failed === 0),
    runtime: runtimeValue,
  };
}

async function computeUnit(
  store: Store,
  stage: AnyStage,
  item: { unit: UnitPlan; key: string; components: KeyComponents },
  outputs: Map<string, Manifest>,
  // deno-lint-ignore no-explicit-any
  ctx: any,
  progress: StageProgress,
  log: (l: string) => void,
  runtime: RuntimeIdentity,
): Promise<UnitRecord> {
  const { unit, key, components } = item;
  const tmp = await store.begin(stage.name, key);
  const counters: Record<string, number> = {};
  const declared = new Set(unit.inputs.map(refKey));
  const manifestOf = (ref: UnitRef) => {
    const k = refKey(ref);
    if (!declared.has(k)) throw new Error(`${stage.name}/${unit.id} reads undeclared input ${k}`);
    return outputs.get(k)!;
  };
  const inputPath = (ref: UnitRef, file: string) => {
    const m = manifestOf(ref);
    if (!(file in m.files)) {
      throw new Error(`${stage.name}/${unit.id}: input ${refKey(ref)} has no file ${file}`);
    }
    return join(store.entryDir(ref.stage, m.key), file);
  };
  const write = async (file: string, data: Uint8Array | string) => {
    const path = join(tmp, file);
    const dir = path.slice(0, path.lastIndexOf("/"));
    await Deno.mkdir(dir, { recursive: true });
    if (typeof data === "string") await Deno.writeTextFile(path, data);
    else await Deno.writeFile(path, data);
  };
  const io: UnitIO = {
    inputPath,
    readInput: (ref, file) => Deno.readFile(inputPath(ref, file)),
    readInputJson: async (ref, file) => JSON.parse(await Deno.readTextFile(inputPath(ref, file))),
    inputFiles: (ref) => Object.keys(manifestOf(ref).files),
    write,
    writeJson: (file, value) => write(file, JSON.stringify(value, null, 1) + "\n"),
    outDir: tmp,
    progress: (done, total) => progress.unit(unit.id, total > 0 ? done / total : 0),
    log: (m) => log(`${stage.name}/${unit.id}: ${m}`),
    count: (name, n) => counters[name] = (counters[name] ?? 0) + n,
  };
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
      provenance: { runtime: unit.runtime ? runtime : null, deno: Deno.version.deno },
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
