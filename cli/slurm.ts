/**
 * `xcompare slurm`: writes the sharded run's sbatch scripts (pipeline/cluster.ts holds the pure
 * writers) and, with `--submit`, submits the waves and the final job, each after the previous.
 */
import { join, resolve } from "node:path";
import { intFlag, UsageError, type Values } from "./args.ts";
import { configPathOf, overrides, REPORTS } from "./app.ts";
import { wavesFor, writeJobFile } from "./jobs.ts";
import { slurmDefaults, slurmScripts, waveArgs } from "../pipeline/cluster.ts";

async function sbatch(args: string[], cwd: string): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("sbatch", { args, cwd, stdout: "piped", stderr: "piped" })
      .output();
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      throw new Error(
        `the scripts are written to ${cwd}, but this task may not run sbatch: submit with ` +
          "`deno task slurm ... --submit` (the one task allowed to run it) or run " +
          `${cwd}/submit.sh`,
      );
    }
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

export async function slurmVerb(values: Values): Promise<number> {
  if (values.shards === undefined) throw new UsageError("xcompare slurm: --shards N is required");
  const shards = intFlag(values, "shards", 1);
  const configPath = configPathOf(values);
  const { waves, runId: newId } = await wavesFor(configPath, shards);
  const runId = (values["run-id"] as string) ?? newId;
  const out = resolve((values.out as string) ?? join(REPORTS, "slurm", runId));
  const gpus = values["gpus-per-task"] === undefined
    ? undefined
    : intFlag(values, "gpus-per-task", 1);
  const scripts = slurmScripts({
    config: configPath,
    runId,
    waves,
    ...overrides,
    workdir: Deno.cwd(),
    logDir: join(out, "logs"),
    partition: values.partition as string | undefined,
    gpusPerTask: gpus,
    cpusPerTask: intFlag(values, "cpus-per-task", slurmDefaults.cpusPerTask),
    time: values.time as string | undefined,
  });
  await Deno.mkdir(join(out, "logs"), { recursive: true }).catch((e) => {
    throw new Error(`${out}: cannot create (${(e as Error).message})`);
  });
  for (const [f, text] of Object.entries(scripts)) {
    await writeJobFile(join(out, f), text, f.endsWith(".sh") || f.endsWith(".sbatch") ? 0o755 : 0);
  }
  console.log(`run ${runId}: wrote ${Object.keys(scripts).join(", ")} to ${out}`);
  for (const w of waves) {
    console.log(`  wave ${w.index}: ${w.stages.join(", ")} (${w.tasks} shard(s))`);
  }
  console.log(`  final: plain reproduce --run-id ${runId}; report in ${join(REPORTS, runId)}`);
  if (!values.submit) {
    console.log(`submit with: ${join(out, "submit.sh")}  (or deno task slurm ... --submit)`);
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
  await writeJobFile(join(out, "jobs.json"), JSON.stringify({ runId, jobs: ids }, null, 1) + "\n");
  return 0;
}
