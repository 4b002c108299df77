/**
 * What `slurm` and `k8s` share: a config's waves, sized by its plan where the inputs are here, and
 * writing job files with an error that says where the task may write.
 */
import { loadPipeline, runIdFor } from "./app.ts";
import { planWaves, type Wave } from "../pipeline/cluster.ts";
import { planAll } from "../pipeline/plan.ts";

/**
 * Waves sized by the config's planned units (without a plan, inputs absent here: DAG only), and a
 * new run id: the config file's name and a hash of its content and this moment, since the run's
 * results, which reproduce hashes, do not exist yet.
 */
export async function wavesFor(configPath: string, shards: number): Promise<{
  waves: Wave[];
  runId: string;
}> {
  const { spec, configHash } = await loadPipeline(configPath);
  const runId = runIdFor(configPath, { configHash, created: new Date().toISOString() });
  try {
    const plans = await planAll(spec);
    const units = Object.fromEntries(plans.map((p) => [p.stage.name, p.units.length]));
    return { waves: planWaves(spec.stages, shards, units), runId };
  } catch (e) {
    console.error(
      `xcompare: could not plan ${configPath} here (${
        (e as Error).message
      }); every wave gets ${shards} shards`,
    );
    return { waves: planWaves(spec.stages, shards, null), runId };
  }
}

export async function writeJobFile(path: string, text: string, mode?: number) {
  try {
    await Deno.writeTextFile(path, text);
    if (mode) await Deno.chmod(path, mode);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      throw new Error(
        `${path}: not writable (deno task xcompare may write only under artifacts/ and reports/; ` +
          `pick --out there, or run cli/main.ts with wider --allow-write)`,
      );
    }
    throw e;
  }
}
