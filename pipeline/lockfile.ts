/**
 * The lockfile a run writes beside its report (like dvc.lock): every unit's key and output hash.
 * `gc` keeps what any lockfile names; `status` compares against the newest lockfile of a config.
 */
import { join } from "node:path";
import type { UnitRecord } from "./runner.ts";

export interface LockFile {
  runId: string;
  config: string;
  configHash: string;
  createdAt: string;
  /** stage → unit → { key, outputHash }. */
  stages: Record<string, Record<string, { key: string; outputHash: string }>>;
}

export const LOCK_NAME = "xcompare.lock.json";

export function buildLock(
  runId: string,
  config: string,
  configHash: string,
  records: UnitRecord[],
): LockFile {
  const locked = records.filter((r) => r.key && r.outputHash);
  // Stages in DAG order, their units in id order rather than in the order they finished: equal
  // runs give equal lockfiles.
  const stages: LockFile["stages"] = Object.fromEntries(locked.map((r) => [r.stage, {}]));
  const byUnit = [...locked].sort((a, b) => a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : 0);
  for (const r of byUnit) stages[r.stage][r.unit] = { key: r.key!, outputHash: r.outputHash! };
  return { runId, config, configHash, createdAt: new Date().toISOString(), stages };
}

export async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, path);
}

/** Every readable lockfile under `reportsDir/<run>/`, newest first (what `status` compares with). */
export async function readLocks(reportsDir: string): Promise<LockFile[]> {
  return (await scanLocks(reportsDir)).locks;
}

/**
 * A copy of `latest` left beside it by a refresh that was cut short (`latest.<pid>.<tag>.tmp`, or
 * `.old` for the copy it moved aside): not a run, whatever lockfile it holds.
 */
export const isLatestLeftover = (name: string): boolean => /^latest\..+\.(tmp|old)$/.test(name);

/** A run folder under the reports folder: its path and its lockfile. */
export interface RunFolder {
  dir: string;
  /** The folder's name (`latest` is a copy of another run). */
  name: string;
  lock: LockFile;
}

/**
 * Every lockfile under `reportsDir/<run>/`, newest first (as `locks`, and with their folders as
 * `runs`), and those that exist but cannot be read or parsed (truncated, hand-edited): `gc` must
 * not trust a scan that misses what they name.
 */
export async function scanLocks(reportsDir: string): Promise<{
  locks: LockFile[];
  runs: RunFolder[];
  unreadable: { path: string; reason: string }[];
}> {
  const runs: RunFolder[] = [];
  const unreadable: { path: string; reason: string }[] = [];
  let dirs: Deno.DirEntry[] = [];
  try {
    dirs = await Array.fromAsync(Deno.readDir(reportsDir));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) unreadable.push({ path: reportsDir, reason: `${e}` });
    return { locks: [], runs, unreadable };
  }
  for (const d of dirs) {
    if (!d.isDirectory || isLatestLeftover(d.name)) continue;
    const path = join(reportsDir, d.name, LOCK_NAME);
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) unreadable.push({ path, reason: `${e}` });
      continue; // not a run directory
    }
    try {
      runs.push({ dir: join(reportsDir, d.name), name: d.name, lock: checkLock(JSON.parse(text)) });
    } catch (e) {
      unreadable.push({ path, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  runs.sort((a, b) => (a.lock.createdAt < b.lock.createdAt ? 1 : -1));
  return { locks: runs.map((r) => r.lock), runs, unreadable };
}

/** Throws unless `v` has the shape gc and status rely on. */
function checkLock(v: unknown): LockFile {
  const l = v as LockFile;
  const isObject = (x: unknown) => typeof x === "object" && x !== null && !Array.isArray(x);
  if (!isObject(l) || typeof l.createdAt !== "string" || !isObject(l.stages)) {
    throw new Error("not a lockfile: no createdAt or stages");
  }
  for (const [stage, units] of Object.entries(l.stages)) {
    if (!isObject(units)) throw new Error(`stages.${stage} is not an object`);
    for (const [unit, u] of Object.entries(units)) {
      if (!isObject(u) || typeof u.key !== "string") {
        throw new Error(`stages.${stage}.${unit} has no key`);
      }
    }
  }
  return l;
}
