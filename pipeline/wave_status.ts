/**
 * Which units of a sharded run's waves are missing, and which task of which wave should have made
 * each: what `wave-check` (before every wave and the final job) and `slurm --resume` ask.
 *
 * A unit counts as done when a lockfile of this run (a shard's `<run>-w<k>` or the final one, of
 * the same config) records it and its store entry is intact. That reads no model and probes no
 * runtime, so a login node without the compute nodes' GPUs gets the same answer as they would;
 * keying the units afresh would not, because the runtime enters the keys. A task killed before it
 * wrote its lockfile counts as not done even if it committed some units: rerunning it reuses
 * them. Which task owns a unit is `shardOf(stage, unit, tasks of its wave)`, as in the shards.
 */
import type { LockFile } from "./lockfile.ts";
import type { PlannedStage } from "./plan.ts";
import { shardOf } from "./runner.ts";
import type { Store } from "./store.ts";
import type { Wave } from "./cluster.ts";

/** One unit a wave should have made and the store does not hold. */
export interface MissingUnit {
  stage: string;
  unit: string;
  wave: number;
  task: number;
  tasks: number;
}

/** `stage/unit` of every unit this run's lockfiles record and the store still holds. */
export async function doneUnits(
  store: Store,
  locks: readonly LockFile[],
  run: { runId: string; configHash: string; stages: ReadonlySet<string> },
): Promise<Set<string>> {
  const ours = new RegExp(`^${run.runId.replace(/[.]/g, "\\.")}(-w\\d+)?$`);
  const done = new Set<string>();
  const checked = new Map<string, boolean>();
  for (const lock of locks) {
    if (!ours.test(lock.runId) || lock.configHash !== run.configHash) continue;
    for (const [stage, units] of Object.entries(lock.stages)) {
      if (!run.stages.has(stage)) continue;
      for (const [unit, { key }] of Object.entries(units)) {
        const id = `${stage}/${key}`;
        if (!checked.has(id)) checked.set(id, (await store.check(stage, key, false)).ok);
        if (checked.get(id)) done.add(`${stage}/${unit}`);
      }
    }
  }
  return done;
}

/** The waves before `upTo` (all of them for the final job, `upTo` = waves + 1). */
export function wavesBefore(waves: readonly Wave[], upTo: number): Wave[] {
  return waves.filter((w) => w.index < upTo);
}

/** Every planned unit of `waves` that is not done, with the task that owns it. */
export function missingUnits(
  plans: readonly PlannedStage[],
  waves: readonly Wave[],
  done: ReadonlySet<string>,
): MissingUnit[] {
  const units = new Map(plans.map((p) => [p.stage.name, p.units]));
  const out: MissingUnit[] = [];
  for (const w of waves) {
    for (const stage of w.stages) {
      const planned = units.get(stage);
      if (!planned) throw new Error(`wave ${w.index}: unknown stage "${stage}"`);
      for (const u of planned) {
        if (done.has(`${stage}/${u.id}`)) continue;
        out.push({
          stage,
          unit: u.id,
          wave: w.index,
          task: shardOf(stage, u.id, w.tasks),
          tasks: w.tasks,
        });
      }
    }
  }
  return out;
}

/** wave → the tasks that own a missing unit, ascending: what a resume resubmits. */
export function tasksToRerun(missing: readonly MissingUnit[]): Map<number, number[]> {
  const out = new Map<number, Set<number>>();
  for (const m of missing) (out.get(m.wave) ?? out.set(m.wave, new Set()).get(m.wave)!).add(m.task);
  return new Map(
    [...out].sort(([a], [b]) => a - b).map(([w, t]) => [w, [...t].sort((a, b) => a - b)]),
  );
}

/**
 * The report of what is missing, task by task: `jobs` (jobs.json's `wave<k>` → Slurm job id)
 * adds the array task's job id. At most `limit` tasks and 5 units per task are listed.
 */
export function formatMissing(
  missing: readonly MissingUnit[],
  jobs: Record<string, string> = {},
  limit = 20,
): string {
  const byTask = new Map<string, MissingUnit[]>();
  const sorted = [...missing].sort((a, b) => a.wave - b.wave || a.task - b.task);
  for (const m of sorted) {
    const k = `${m.wave}/${m.task}`;
    (byTask.get(k) ?? byTask.set(k, []).get(k)!).push(m);
  }
  const lines = [...byTask.values()].slice(0, limit).map((ms) => {
    const { wave, task, tasks } = ms[0];
    const job = jobs[`wave${wave}`];
    const units = ms.slice(0, 5).map((m) => `${m.stage}/${m.unit}`).join(", ");
    return `  wave ${wave} task ${task} of ${tasks}${
      job ? ` (Slurm job ${job}_${task})` : ""
    }: ${ms.length} unit(s) missing: ${units}${ms.length > 5 ? `, and ${ms.length - 5} more` : ""}`;
  });
  if (byTask.size > limit) lines.push(`  and ${byTask.size - limit} more task(s)`);
  return lines.join("\n");
}

/**
 * What stopped the run: the tasks of the earliest wave with missing units, in full, then one line
 * for the later waves, whose units mostly could not be made without them.
 */
export function formatCause(missing: readonly MissingUnit[], jobs: Record<string, string> = {}) {
  const first = Math.min(...missing.map((m) => m.wave));
  const later = missing.filter((m) => m.wave !== first);
  const waves = [...new Set(later.map((m) => m.wave))].sort((a, b) => a - b);
  return [
    `The earliest incomplete wave is wave ${first}; these of its tasks failed, were cancelled or ` +
    "killed, or did not run:",
    formatMissing(missing.filter((m) => m.wave === first), jobs),
    ...(later.length
      ? [`and ${later.length} unit(s) of the later wave(s) ${waves.join(", ")} are missing too.`]
      : []),
  ].join("\n");
}
