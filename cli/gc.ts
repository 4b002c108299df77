/** `xcompare gc`: removes store entries that no run's lockfile names, under the run lock. */
import type { Values } from "./args.ts";
import { ARTIFACTS, REPORTS } from "./app.ts";
import { collectGarbage } from "../pipeline/gc.ts";
import { readLocks } from "../pipeline/lockfile.ts";
import { RunLock } from "../pipeline/runlock.ts";
import { Store } from "../pipeline/store.ts";

export async function gcVerb(values: Values): Promise<number> {
  const lock = await RunLock.acquire(ARTIFACTS, "run", { wait: false });
  try {
    const locks = await readLocks(REPORTS);
    const r = await collectGarbage(new Store(ARTIFACTS), locks, {
      dryRun: Boolean(values["dry-run"]),
    });
    console.log(
      `${values["dry-run"] ? "would remove" : "removed"} ${r.removed.length} entries (${
        (r.bytesFreed / 1e6).toFixed(1)
      } MB); kept ${r.kept} referenced by ${locks.length} lockfiles`,
    );
    return 0;
  } finally {
    await lock.release();
  }
}
