/** `xcompare status`: which stages of a config are fresh or stale, against its last full run. */
import type { Values } from "./args.ts";
import { configPathOf, loadPipeline, REPORTS } from "./app.ts";
import { type LockFile, readLocks } from "../pipeline/lockfile.ts";
import { formatStatus, pipelineStatus } from "../pipeline/status.ts";

export async function statusVerb(values: Values): Promise<number> {
  const configPath = configPathOf(values);
  const { spec, configHash, overrides } = await loadPipeline(configPath, {
    sets: values.set as string[],
    lenient: Boolean(values.lenient),
  });
  const prev = await previousRun(configPath, configHash);
  const sets = overrides.map((o) => ` --set ${o}`).join("");
  console.log(
    `status of ${configPath}${sets}${prev ? ` against run ${prev.runId}` : " (no earlier run)"}:`,
  );
  console.log(formatStatus(await pipelineStatus(spec, prev)));
  return 0;
}

/**
 * The run `status` and `dag` compare with: the newest full run of the config with the same
 * overrides, else the newest of the config file.
 */
export async function previousRun(
  configPath: string,
  configHash: string,
): Promise<LockFile | null> {
  const runs = (await readLocks(REPORTS)).filter((l) =>
    l.config === configPath && !/-shard-/.test(l.runId)
  );
  return runs.find((l) => l.configHash === configHash) ?? runs[0] ?? null;
}
