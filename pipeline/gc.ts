/** `gc`: removes store entries that no lockfile names, and leftovers of killed runs. */
import { join } from "node:path";
import type { LockFile } from "./lockfile.ts";
import type { Store } from "./store.ts";

export async function collectGarbage(
  store: Store,
  locks: LockFile[],
  opts: { dryRun?: boolean } = {},
): Promise<{ removed: string[]; kept: number; bytesFreed: number }> {
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

async function dirSize(dir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    n += e.isDirectory ? await dirSize(p) : (await Deno.stat(p)).size;
  }
  return n;
}
