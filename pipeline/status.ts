/**
 * `status`: for every stage, whether each unit is fresh (its key is in the store) or stale, and
 * why: which code file, param, input or runtime differs from the last run of the same config.
 */
import { codeClosure, hashJson } from "../lib/hash.ts";
import { FileHashes, keyComponents, LazyRuntime } from "./keys.ts";
import type { LockFile } from "./lockfile.ts";
import { type PipelineSpec, planAll } from "./plan.ts";
import type { KeyComponents, Manifest } from "./store.ts";

export interface UnitStatus {
  unit: string;
  fresh: boolean;
  reasons: string[];
}

export interface StageStatus {
  stage: string;
  fresh: number;
  stale: number;
  units: UnitStatus[];
}

function diffParams(prev: unknown, next: unknown, path = ""): string[] {
  if (hashJson(prev ?? null) === hashJson(next ?? null)) return [];
  if (
    prev && next && typeof prev === "object" && typeof next === "object" && !Array.isArray(prev) &&
    !Array.isArray(next)
  ) {
    const keys = new Set([...Object.keys(prev), ...Object.keys(next)]);
    return [...keys].flatMap((k) =>
      diffParams(
        (prev as Record<string, unknown>)[k],
        (next as Record<string, unknown>)[k],
        path ? `${path}.${k}` : k,
      )
    );
  }
  const show = (v: unknown) => v === undefined ? "(absent)" : JSON.stringify(v);
  return [`param ${path || "(all)"} changed: ${show(prev)} → ${show(next)}`];
}

/** Human reasons why `next` differs from `prev`. */
export function explainChange(prev: KeyComponents, next: KeyComponents): string[] {
  const reasons: string[] = [];
  if (prev.code !== next.code) {
    const files = new Set([...Object.keys(prev.codeFiles ?? {}), ...Object.keys(next.codeFiles)]);
    const changed = [...files].filter((f) => prev.codeFiles?.[f] !== next.codeFiles[f]);
    reasons.push(`code changed: ${changed.join(", ") || "(closure)"}`);
  }
  reasons.push(...diffParams(prev.params, next.params));
  for (const k of new Set([...Object.keys(prev.inputs), ...Object.keys(next.inputs)])) {
    if (prev.inputs[k] !== next.inputs[k]) reasons.push(`input ${k} changed`);
  }
  for (const k of new Set([...Object.keys(prev.files), ...Object.keys(next.files)])) {
    if (prev.files[k] !== next.files[k]) reasons.push(`file ${k} changed`);
  }
  if (hashJson(prev.runtime) !== hashJson(next.runtime)) {
    reasons.push(
      `runtime changed: ${JSON.stringify(prev.runtime)} → ${JSON.stringify(next.runtime)}`,
    );
  }
  return reasons;
}

export async function pipelineStatus<C>(
  spec: PipelineSpec<C>,
  previous: LockFile | null,
): Promise<StageStatus[]> {
  const plans = await planAll(spec);
  const files = FileHashes.of(spec.store);
  const outputs = new Map<string, Manifest>();
  const stale = new Set<string>();
  const out: StageStatus[] = [];
  const runtime = new LazyRuntime(spec.runtime);
  for (const { stage, units } of plans) {
    const st: StageStatus = { stage: stage.name, fresh: 0, stale: 0, units: [] };
    const code = await codeClosure(stage.module);
    for (const unit of units) {
      const id = `${stage.name}/${unit.id}`;
      const staleInputs = unit.inputs.map((r) => `${r.stage}/${r.unit}`).filter((k) =>
        stale.has(k)
      );
      const prevEntry = previous?.stages[stage.name]?.[unit.id];
      const prev = prevEntry ? await spec.store.readManifest(stage.name, prevEntry.key) : null;
      if (staleInputs.length > 0) {
        stale.add(id);
        const reasons = staleInputs.length > 3
          ? [`${staleInputs.length} inputs are stale (${staleInputs.slice(0, 3).join(", ")}, ...)`]
          : staleInputs.map((s) => `input ${s} is stale`);
        if (prev) {
          if (prev.components.code !== code.hash) reasons.unshift("code changed");
          reasons.unshift(...diffParams(prev.components.params, unit.params));
        }
        st.units.push({ unit: unit.id, fresh: false, reasons });
        st.stale++;
        continue;
      }
      const kc = await keyComponents(stage, unit, outputs, files, runtime.get, "missing");
      if ("missing" in kc) throw new Error(`status: ${id}: input ${kc.missing} has no output`);
      const { key, components } = kc;
      const check = await spec.store.check(stage.name, key, false);
      if (check.ok) {
        outputs.set(id, check.manifest);
        st.units.push({ unit: unit.id, fresh: true, reasons: [] });
        st.fresh++;
        continue;
      }
      stale.add(id);
      const reasons = check.reason === "corrupt"
        ? [`cached entry is corrupt: ${check.detail}`]
        : prev
        ? explainChange(prev.components, components)
        : ["never computed"];
      st.units.push({
        unit: unit.id,
        fresh: false,
        reasons: reasons.length ? reasons : ["not in the store"],
      });
      st.stale++;
    }
    out.push(st);
    await files.save();
  }
  return out;
}

/** Stale units grouped by their reasons, each reason read through `say`. */
function groupStale(units: StageStatus["units"], say: (r: string) => string) {
  const groups = new Map<string, string[]>();
  for (const u of units) {
    if (u.fresh) continue;
    const k = [...new Set(u.reasons.map(say))].join("; ");
    groups.set(k, [...(groups.get(k) ?? []), u.unit]);
  }
  return groups;
}

/** A stale-input reason by the stage it comes from: per-chunk inputs then group as one line. */
function byUpstreamStage(reason: string): string {
  const one = /^input ([^/\s]+)\/\S+ is stale$/.exec(reason);
  if (one) return `inputs from ${one[1]} are stale`;
  const many = /^\d+ inputs are stale \((.*)\)$/.exec(reason);
  if (!many) return reason;
  const stages = new Set(
    many[1].split(", ").filter((r) => r !== "...").map((r) => r.split("/")[0]),
  );
  return [...stages].map((st) => `inputs from ${st} are stale`).join("; ");
}

/**
 * Status as text: one line per stage, then stale units grouped by identical reasons; where that
 * leaves more than 8 groups (each chunk's own stale input), by the stages their inputs come from.
 */
export function formatStatus(status: StageStatus[]): string {
  const lines: string[] = [];
  for (const s of status) {
    const total = s.fresh + s.stale;
    lines.push(
      `${s.stage}: ${s.stale === 0 ? "fresh" : "STALE"} (${s.fresh}/${total} units fresh)`,
    );
    let groups = groupStale(s.units, (r) => r);
    if (groups.size > 8) groups = groupStale(s.units, byUpstreamStage);
    for (const [why, units] of groups) {
      const names = units.length > 4
        ? `${units.slice(0, 4).join(", ")} and ${units.length - 4} more`
        : units.join(", ");
      lines.push(`  ${names}: ${why}`);
    }
  }
  return lines.join("\n");
}
