/**
 * `gc`: removes store entries that no lockfile names, and leftovers of killed runs; with
 * `keepRuns`, first prunes old run folders under the reports folder.
 */
import { join } from "node:path";
import { type LockFile, type RunFolder, scanLocks } from "./lockfile.ts";
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

/** A shard run's folder: `<run-id>-shard-<i>-of-<n>`. */
const SHARD = /-shard-\d+-of-\d+$/;

/**
 * The run folders `gc --reports KEEP` removes. Kept: the newest `keep` runs; the run that
 * `latest` copies (and `latest` itself); the shard runs of a sharded run whose final run is not
 * written yet, since their lockfiles alone name the units it will reuse. Shard runs of a final run
 * that exists add nothing to its lockfile and go with it or before it.
 */
export function runsToPrune(runs: readonly RunFolder[], keep: number): RunFolder[] {
  const latest = runs.find((r) => r.name === "latest")?.lock.runId;
  const plain = runs.filter((r) => r.name !== "latest" && !SHARD.test(r.name))
    .toSorted((a, b) => (a.lock.createdAt < b.lock.createdAt ? 1 : -1));
  const kept = new Set(plain.slice(0, keep).map((r) => r.name));
  if (latest !== undefined) kept.add(latest);
  const finals = new Set(plain.map((r) => r.name));
  return runs.filter((r) => {
    if (r.name === "latest" || kept.has(r.name)) return false;
    if (SHARD.test(r.name)) return finals.has(r.name.replace(SHARD, ""));
    return true;
  });
}

export interface GcOptions {
  dryRun: boolean;
  /** Prune run folders first, keeping the newest `keepRuns` (see runsToPrune); unset: none. */
  keepRuns?: number;
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
): Promise<GcResult & { lockfiles: number; prunedRuns: string[]; runBytesFreed: number }> {
  const o = { ...defaults, ...options };
  const lock = await RunLock.acquireStore(store.root, { log: o.log, ...o.lock, wait: o.wait });
  try {
    const { locks, runs, unreadable } = await scanLocks(reportsDir);
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
    const prune = o.keepRuns === undefined ? [] : runsToPrune(runs, o.keepRuns);
    let runBytesFreed = 0;
    for (const r of prune) {
      runBytesFreed += await dirSize(r.dir);
      if (!o.dryRun) await Deno.remove(r.dir, { recursive: true });
    }
    const left = locks.filter((l) => !prune.some((r) => r.lock === l));
    return {
      ...await collectGarbage(store, left, { dryRun: o.dryRun }),
      lockfiles: left.length,
      prunedRuns: prune.map((r) => r.dir),
      runBytesFreed,
    };
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
