/**
 * `xcompare gc [--reports KEEP]`: removes store entries that no run's lockfile names; with
 * `--reports`, first prunes old run folders (pipeline/gc.ts's runsToPrune says which are kept).
 * It takes the store's lock, so it waits for running runs (or, with --no-wait, names the holder
 * and exits non-zero).
 */
import { UsageError, type Values } from "./args.ts";
import { ARTIFACTS, REPORTS } from "./app.ts";
import { gcStore } from "../pipeline/gc.ts";
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
  console.log(
    `${verb} ${r.removed.length} store entries (${mb(r.bytesFreed)} MB); kept ${r.kept} ` +
      `referenced by ${r.lockfiles} lockfiles`,
  );
  return 0;
}

/** `--reports KEEP`: how many of the newest runs to keep, 0 or more. */
function keepFlag(raw: unknown): number {
  const n = Number(raw);
  if (raw === "" || !Number.isInteger(n) || n < 0) {
    throw new UsageError(`--reports: expected how many runs to keep (0 or more), got "${raw}"`);
  }
  return n;
}
