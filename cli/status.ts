/** `xcompare status`: which stages of a config are fresh or stale, against its last full run. */
import type { Values } from "./args.ts";
import { configPathOf, loadPipeline, REPORTS } from "./app.ts";
import { readLocks } from "../pipeline/lockfile.ts";
import { formatStatus, pipelineStatus } from "../pipeline/status.ts";

export async function statusVerb(values: Values): Promise<number> {
  const configPath = configPathOf(values);
  const { spec } = await loadPipeline(configPath, { lenient: Boolean(values.lenient) });
  const prev =
    (await readLocks(REPORTS)).find((l) => l.config === configPath && !/-shard-/.test(l.runId)) ??
      null;
  console.log(
    `status of ${configPath}${prev ? ` against run ${prev.runId}` : " (no earlier run)"}:`,
  );
  console.log(formatStatus(await pipelineStatus(spec, prev)));
  return 0;
}
