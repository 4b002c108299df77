/**
 * What `slurm`, `k8s` and `wave-check` share: a config's waves, sized by its plan where the inputs
 * are here; which units of a run's waves are missing; and writing job files with an error that
 * says where the task may write.
 */
import { loadPipeline, REPORTS, runIdFlag, runIdFor } from "./app.ts";
import { checkRunId, planWaves, type Wave } from "../pipeline/cluster.ts";
import { readLocks } from "../pipeline/lockfile.ts";
import { planAll, type PlannedStage } from "../pipeline/plan.ts";
import { estimateStages } from "../pipeline/estimate.ts";
import { doneUnits, type MissingUnit, missingUnits } from "../pipeline/wave_status.ts";

type Loaded = Awaited<ReturnType<typeof loadPipeline>>;

/** Waves sized by the config's planned units; without a plan (inputs absent here), DAG only. */
export async function wavesFor(
  { spec, config }: Loaded,
  configPath: string,
  shards: number,
): Promise<
  Wave[]
> {
  try {
    const plans = await planAll(spec);
    const units = Object.fromEntries(plans.map((p) => [p.stage.name, p.units.length]));
    return planWaves(spec.stages, shards, units);
  } catch (e) {
    // Without the inputs, the stages' own estimates still count their units (plan works the
    // same way), so the single-unit stages (kpca, the report) are left to the final job.
    const images = config.dataset.first ?? 1_000_000;
    const est = await estimateStages(spec, { models: config.models.map((m) => m.id), images });
    const units = Object.fromEntries(est.stages.map((s) => [s.stage, s.units]));
    for (const s of est.unestimated) units[s] = shards;
    console.error(
      `xcompare: could not plan ${configPath} here (${
        (e as Error).message
      }); waves sized from the stages' estimates for ${
        config.dataset.first ?? "an unknown number of"
      } images, at most ${shards} shards each`,
    );
    return planWaves(spec.stages, shards, units);
  }
}

/**
 * A new cluster run of `configPath`: its pipeline, its waves of `shards` shards, and its id
 * (`--run-id`, or the config file's name with a hash of its content and this moment, since the
 * results that reproduce's ids hash do not exist yet).
 */
export async function newClusterRun(
  values: Record<string, unknown>,
  configPath: string,
  shards: number,
) {
  const loaded = await loadPipeline(configPath);
  const waves = await wavesFor(loaded, configPath, shards);
  const runId = checkRunId(
    runIdFlag(values) ??
      runIdFor(configPath, { configHash: loaded.configHash, created: new Date().toISOString() }),
  );
  return { loaded, waves, runId };
}

/**
 * The units of `waves` that run `runId` has not made (pipeline/wave_status.ts), how many units
 * the waves hold, and the plan.
 */
export async function runStatus(
  { spec, configHash }: Loaded,
  runId: string,
  waves: readonly Wave[],
): Promise<{ missing: MissingUnit[]; units: number; plans: PlannedStage[]; done: Set<string> }> {
  const plans = await planAll(spec);
  const done = await doneUnits(spec.store, await readLocks(REPORTS), {
    runId,
    configHash,
    stages: new Set(plans.map((p) => p.stage.name)),
  });
  const inWaves = new Set(waves.flatMap((w) => w.stages));
  const units = plans.filter((p) => inWaves.has(p.stage.name))
    .reduce((n, p) => n + p.units.length, 0);
  return { missing: missingUnits(plans, waves, done), units, plans, done };
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
