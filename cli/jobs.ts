/**
 * What `slurm` and `k8s` share: a config's waves, sized by its plan where the inputs are here, and
 * writing job files with an error that says where the task may write.
 */
import { loadPipeline } from "./app.ts";
import { planWaves, type Wave } from "../pipeline/cluster.ts";
import { planAll } from "../pipeline/plan.ts";

/** Waves sized by the config's planned units; without a plan (inputs absent here), DAG only. */
export async function wavesFor(configPath: string, shards: number): Promise<{
  waves: Wave[];
  name: string;
}> {
  const { spec, config } = await loadPipeline(configPath);
  try {
    const plans = await planAll(spec);
    const units = Object.fromEntries(plans.map((p) => [p.stage.name, p.units.length]));
    return { waves: planWaves(spec.stages, shards, units), name: config.name };
  } catch (e) {
    console.error(
      `xcompare: could not plan ${configPath} here (${
        (e as Error).message
      }); every wave gets ${shards} shards`,
    );
    return { waves: planWaves(spec.stages, shards, null), name: config.name };
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
