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
  const stages: LockFile["stages"] = {};
  for (const r of records) {
    if (!r.key || !r.outputHash) continue;
    (stages[r.stage] ??= {})[r.unit] = { key: r.key, outputHash: r.outputHash };
  }
  return { runId, config, configHash, createdAt: new Date().toISOString(), stages };
}

export async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, path);
}

/** Every lockfile under `reportsDir/<run>/`, newest first. */
export async function readLocks(reportsDir: string): Promise<LockFile[]> {
  const out: LockFile[] = [];
  let dirs: Deno.DirEntry[] = [];
  try {
    dirs = await Array.fromAsync(Deno.readDir(reportsDir));
  } catch {
    return out;
  }
  for (const d of dirs) {
    if (!d.isDirectory) continue;
    try {
      out.push(JSON.parse(await Deno.readTextFile(join(reportsDir, d.name, LOCK_NAME))));
    } catch { /* not a run directory */ }
  }
  return out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
}
