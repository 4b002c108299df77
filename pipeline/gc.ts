/** `gc`: removes store entries that no lockfile names, and leftovers of killed runs. */
import { join } from "node:path";
import { type LockFile, scanLocks } from "./lockfile.ts";
import { RunLock, type RunLockOptions } from "./runlock.ts";
import type { Store } from "./store.ts";

export interface GcResult {
  removed: string[];
  kept: number;
  bytesFreed: number;
}

export async function collectGarbage(
  store: Store,
  locks: LockFile[],
  opts: { dryRun?: boolean } = {},
): Promise<GcResult> {
  const keep = new Set<string>();
  for (const l of locks) {
    for (const [stage, units] of Object.entries(l.stages)) {
      for (const u of Object.values(units)) keep.add(`${stage}/${u.key}`);
    }
  }
  const removed: string[] = [];
  let kept = 0, bytesFreed = 0;
  for await (const e of store.entries()) {
    if (keep.has(`${e.stage}/${e.key}`)) {
      kept++;
      continue;
    }
    bytesFreed += await dirSize(e.dir);
    removed.push(`${e.stage}/${e.key}`);
    if (!opts.dryRun) await Deno.remove(e.dir, { recursive: true });
  }
  return { removed, kept, bytesFreed };
}

export interface GcOptions {
  dryRun: boolean;
  /** Collect although a lockfile cannot be read: what only it names is removed. */
  force: boolean;
  /** Wait while a run holds the store; false: fail, naming it. */
  wait: boolean;
  lock: Partial<RunLockOptions>;
  log: (line: string) => void;
}

export const defaults: GcOptions = {
  dryRun: false,
  force: false,
  wait: true,
  lock: {},
  log: (l) => console.error(l),
};

/**
 * gc as `xcompare gc` runs it: under the store lock, so no run has units in flight, keeping
 * every entry any lockfile under `reportsDir` names. A lockfile that cannot be read may name
 * entries a run still needs, so gc then refuses, naming it, unless `force`.
 */
export async function gcStore(
  store: Store,
  reportsDir: string,
  options: Partial<GcOptions> = {},
): Promise<GcResult & { lockfiles: number }> {
  const o = { ...defaults, ...options };
  const lock = await RunLock.acquireStore(store.root, { log: o.log, ...o.lock, wait: o.wait });
  try {
    const { locks, unreadable } = await scanLocks(reportsDir);
    const list = unreadable.map((u) => `  ${u.path}: ${u.reason}`).join("\n");
    if (unreadable.length > 0 && !o.force) {
      const [them, they] = unreadable.length === 1 ? ["it", "it does"] : ["them", "they do"];
      throw new Error(
        `gc: cannot read ${unreadable.length} lockfile(s), and the entries named there may ` +
          `still be needed, so nothing was removed:\n${list}\nrepair or delete ${them}, or ` +
          `rerun with --force to collect as if ${they} not exist`,
      );
    }
    if (unreadable.length > 0) o.log(`gc --force: ignoring unreadable lockfiles:\n${list}`);
    return { ...await collectGarbage(store, locks, { dryRun: o.dryRun }), lockfiles: locks.length };
  } finally {
    await lock.release();
  }
}

async function dirSize(dir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    n += e.isDirectory ? await dirSize(p) : (await Deno.stat(p)).size;
  }
  return n;
}
