/**
 * `xcompare slurm` and `xcompare k8s`: write the sharded run's job scripts (stages/cluster.ts
 * holds the pure writers), and with `--submit` submit the Slurm waves and the final job.
 */
import { join, resolve } from "node:path";
import { intFlag, UsageError } from "./args.ts";
import { planAll } from "../pipeline/runner.ts";
import {
  k8sDefaults,
  k8sManifest,
  planWaves,
  slurmDefaults,
  slurmScripts,
  type Wave,
  waveArgs,
} from "../pipeline/cluster.ts";
import { stages } from "../stages/index.ts";

function defaultRunId(name: string): string {
  const t = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
  return `${t}-${name.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
}

/** Waves sized by the config's planned units; without a plan (inputs absent here), DAG only. */
async function wavesFor(configPath: string, shards: number): Promise<{
  waves: Wave[];
  name: string;
}> {
  // Imported here: cli.ts imports this module lazily and is still evaluating.
  const { loadPipeline } = await import("./main.ts");
  const { spec, config } = await loadPipeline(configPath);
  try {
    const plans = await planAll(spec);
    const units = Object.fromEntries(plans.map((p) => [p.stage.name, p.units.length]));
    return { waves: planWaves(stages, shards, units), name: config.name };
  } catch (e) {
    console.error(
      `xcompare: could not plan ${configPath} here (${
        (e as Error).message
      }); every wave gets ${shards} shards`,
    );
    return { waves: planWaves(stages, shards, null), name: config.name };
  }
}

/** Store and reports folders to bake into scripts when overridden (as in cli/main.ts). */
function storeEnv() {
  return {
    artifacts: Deno.env.get("XCOMPARE_ARTIFACTS"),
    reports: Deno.env.get("XCOMPARE_REPORTS"),
  };
}
const REPORTS = () => Deno.env.get("XCOMPARE_REPORTS") ?? "reports";
const DEFAULT_CONFIG = "configs/default.json";

async function writeFile(path: string, text: string, mode?: number) {
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

async function sbatch(args: string[], cwd: string): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("sbatch", { args, cwd, stdout: "piped", stderr: "piped" })
      .output();
  } catch (e) {
    throw new Error(`sbatch could not be run (${(e as Error).message}); is Slurm installed here?`);
  }
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success || !/^\d+/.test(text)) {
    throw new Error(
      `sbatch ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim() || text}`,
    );
  }
  return text.split(";")[0];
}

export async function slurmVerb(values: Record<string, unknown>): Promise<number> {
  const v = values as Record<string, string>;
  if (values.shards === undefined) throw new UsageError("xcompare slurm: --shards N is required");
  const shards = intFlag(v, "shards", 1);
  const configPath = (values.config as string) ?? DEFAULT_CONFIG;
  const { waves, name } = await wavesFor(configPath, shards);
  const runId = (values["run-id"] as string) ?? defaultRunId(name);
  const out = resolve((values.out as string) ?? join(REPORTS(), "slurm", runId));
  const gpus = values["gpus-per-task"] === undefined ? undefined : intFlag(v, "gpus-per-task", 1);
  const scripts = slurmScripts({
    config: configPath,
    runId,
    waves,
    ...storeEnv(),
    workdir: Deno.cwd(),
    logDir: join(out, "logs"),
    partition: values.partition as string | undefined,
    gpusPerTask: gpus,
    cpusPerTask: intFlag(v, "cpus-per-task", slurmDefaults.cpusPerTask),
    time: values.time as string | undefined,
  });
  await Deno.mkdir(join(out, "logs"), { recursive: true }).catch((e) => {
    throw new Error(`${out}: cannot create (${(e as Error).message})`);
  });
  for (const [f, text] of Object.entries(scripts)) {
    await writeFile(join(out, f), text, f.endsWith(".sh") || f.endsWith(".sbatch") ? 0o755 : 0);
  }
  console.log(`run ${runId}: wrote ${Object.keys(scripts).join(", ")} to ${out}`);
  for (const w of waves) {
    console.log(`  wave ${w.index}: ${w.stages.join(", ")} (${w.tasks} shard(s))`);
  }
  console.log(`  final: plain reproduce --run-id ${runId}; report in ${join(REPORTS(), runId)}`);
  if (!values.submit) {
    console.log(`submit with: ${join(out, "submit.sh")}  (or xcompare slurm --submit)`);
    return 0;
  }
  let dep: string | null = null;
  const ids: Record<string, string> = {};
  for (const w of waves) {
    const args = ["--parsable", ...(dep ? [`--dependency=afterok:${dep}`] : []), ...waveArgs(w)];
    dep = await sbatch(args, out);
    ids[`wave${w.index}`] = dep;
    console.log(`submitted wave ${w.index}: job ${dep}`);
  }
  const final = await sbatch(
    ["--parsable", ...(dep ? [`--dependency=afterok:${dep}`] : []), "final.sbatch"],
    out,
  );
  ids.final = final;
  console.log(`submitted final: job ${final}`);
  await writeFile(join(out, "jobs.json"), JSON.stringify({ runId, jobs: ids }, null, 1) + "\n");
  return 0;
}

export async function k8sVerb(values: Record<string, unknown>): Promise<number> {
  const v = values as Record<string, string>;
  if (values.shards === undefined) throw new UsageError("xcompare k8s: --shards N is required");
  const shards = intFlag(v, "shards", 1);
  const configPath = (values.config as string) ?? DEFAULT_CONFIG;
  const { waves, name } = await wavesFor(configPath, shards);
  const runId = (values["run-id"] as string) ?? defaultRunId(name);
  const yaml = k8sManifest({
    config: configPath,
    runId,
    waves,
    ...storeEnv(),
    shards,
    image: (values.image as string) ?? "xcompare:latest",
    pvc: (values.pvc as string) ?? k8sDefaults.pvc,
    workdir: k8sDefaults.workdir,
    gpusPerTask: intFlag(v, "gpus-per-task", k8sDefaults.gpusPerTask),
    pollSeconds: k8sDefaults.pollSeconds,
  });
  if (!values.out) {
    console.log(yaml);
    return 0;
  }
  await writeFile(values.out as string, yaml);
  console.error(`wrote ${values.out}: kubectl apply -f ${values.out}`);
  return 0;
}
