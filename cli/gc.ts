/**
 * `xcompare gc [--reports KEEP]`: removes store entries that no run's lockfile names; with
 * `--reports`, first prunes old run folders (pipeline/gc.ts's runsToPrune says which are kept).
 * It takes the store's lock, so it waits for running runs (or, with --no-wait, names the holder
 * and exits non-zero).
 */
import { join } from "node:path";
import { UsageError, type Values } from "./args.ts";
import { ARTIFACTS, REPORTS } from "./app.ts";
import { gcStore } from "../pipeline/gc.ts";
import { isLatestLeftover } from "../pipeline/lockfile.ts";
import { Store } from "../pipeline/store.ts";

export async function gcVerb(values: Values): Promise<number> {
  const dryRun = Boolean(values["dry-run"]);
  const keepRuns = values.reports === undefined ? undefined : keepFlag(values.reports);
  const r = await gcStore(new Store(ARTIFACTS), REPORTS, {
    dryRun,
    force: Boolean(values.force),
    wait: !values["no-wait"],
    keepRuns,
  });
  const verb = dryRun ? "would remove" : "removed";
  const mb = (b: number) => (b / 1e6).toFixed(1);
  if (keepRuns !== undefined) {
    console.log(
      `${verb} ${r.prunedRuns.length} run folders (${mb(r.runBytesFreed)} MB)` +
        (r.prunedRuns.length ? `: ${r.prunedRuns.join(", ")}` : ""),
    );
  }
  for (const line of storeLines(r, dryRun, ARTIFACTS)) console.log(line);
  for (const name of await latestLeftovers(REPORTS, dryRun)) {
    console.log(
      `${verb} ${join(REPORTS, name)} (a copy of reports/latest left by a cut-short refresh)`,
    );
  }
  return 0;
}

/**
 * Copies of reports/latest that a refresh cut short left beside it, removed (unless `dryRun`) once
 * an hour old: a younger one may be a refresh in flight, which up-to-date reruns do without the
 * store's lock.
 */
export async function latestLeftovers(
  reports: string,
  dryRun: boolean,
  now = Date.now(),
): Promise<string[]> {
  const found: string[] = [];
  let entries: Deno.DirEntry[] = [];
  try {
    entries = await Array.fromAsync(Deno.readDir(reports));
  } catch {
    return found;
  }
  for (const e of entries) {
    if (!e.isDirectory || !isLatestLeftover(e.name)) continue;
    const path = join(reports, e.name);
    const mtime = (await Deno.stat(path)).mtime?.getTime() ?? now;
    if (now - mtime < 3600_000) continue;
    if (!dryRun) await Deno.remove(path, { recursive: true });
    found.push(e.name);
  }
  return found;
}

/** What a store folder that is not a complete entry is (`.tmp-*`, `.corrupt-*`), or null. */
export function leftoverKind(key: string): string | null {
  if (key.startsWith(".tmp-")) return "temporary folder of a unit cut short";
  if (key.startsWith(".corrupt-")) return "corrupt entry moved aside";
  return key.startsWith(".") ? "leftover folder" : null;
}

/**
 * gc's summary of the store: the unreferenced entries counted (hashes say nothing to a reader),
 * and each leftover folder of a killed or corrupt run named with what it is, so that one can be
 * looked at (a corrupt entry) before gc removes it.
 */
export function storeLines(
  r: { removed: string[]; bytesFreed: number; kept: number; lockfiles: number },
  dryRun: boolean,
  root: string,
): string[] {
  const verb = dryRun ? "would remove" : "removed";
  const leftovers = r.removed.flatMap((id) => {
    const kind = leftoverKind(id.slice(id.indexOf("/") + 1));
    return kind ? [`  ${join(root, id)} (${kind})`] : [];
  });
  const entries = r.removed.length - leftovers.length;
  return [
    `${verb} ${entries} store entries${
      leftovers.length ? ` and ${leftovers.length} leftover folders` : ""
    } (${
      (r.bytesFreed / 1e6).toFixed(1)
    } MB); kept ${r.kept} referenced by ${r.lockfiles} lockfiles`,
    ...leftovers,
  ];
}

/** `--reports KEEP`: how many of the newest runs to keep, 0 or more. */
function keepFlag(raw: unknown): number {
  const n = Number(raw);
  if (raw === "" || !Number.isInteger(n) || n < 0) {
    throw new UsageError(`--reports: expected how many runs to keep (0 or more), got "${raw}"`);
  }
  return n;
}
