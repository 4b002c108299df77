/**
 * `xcompare gc`: removes store entries that no run's lockfile names. It takes the store's lock, so
 * it waits for running runs (or, with --no-wait, names the holder and exits non-zero).
 */
import type { Values } from "./args.ts";
import { ARTIFACTS, REPORTS } from "./app.ts";
import { gcStore } from "../pipeline/gc.ts";
import { Store } from "../pipeline/store.ts";

export async function gcVerb(values: Values): Promise<number> {
  const r = await gcStore(new Store(ARTIFACTS), REPORTS, {
    dryRun: Boolean(values["dry-run"]),
    force: Boolean(values.force),
    wait: !values["no-wait"],
  });
  console.log(
    `${values["dry-run"] ? "would remove" : "removed"} ${r.removed.length} entries (${
      (r.bytesFreed / 1e6).toFixed(1)
    } MB); kept ${r.kept} referenced by ${r.lockfiles} lockfiles`,
  );
  return 0;
}
