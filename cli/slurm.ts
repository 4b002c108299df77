/**
 * `xcompare slurm`: writes the sharded run's sbatch scripts (pipeline/slurm_jobs.ts holds the pure
 * writers) and its cluster.json (config, waves, folders), and with `--submit` submits the waves
 * and the final job, each `afterany` the previous. `--resume RUN` resubmits only the tasks whose
 * units are missing (read from the run's lockfiles and the store), then the final job.
 */
import { isAbsolute, join, relative, resolve } from "node:path";
import { countFlag, intFlag, UsageError, type Values } from "./args.ts";
import { configPathOf, loadPipeline, overrides, REPORTS } from "./app.ts";
import { newClusterRun, runStatus, writeJobFile } from "./jobs.ts";
import { type ClusterJob, defaultRequiredProvider, type Wave } from "../pipeline/cluster.ts";
import {
  sbatchArgs,
  slurmDefaults,
  slurmJobNames,
  type SlurmOptions,
  slurmScripts,
  submitScript,
  type SubmitStep,
  submitSteps,
} from "../pipeline/slurm_jobs.ts";
import { formatMissing, tasksToRerun } from "../pipeline/wave_status.ts";

/** What `--resume` needs of a run, kept beside its scripts. */
interface ClusterFile extends ClusterJob {
  shards: number;
  out: string;
  logDir: string;
  jobIds: string;
}

const dec = new TextDecoder();

async function run(cmd: string, args: string[], cwd?: string): Promise<Deno.CommandOutput> {
  try {
    return await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      throw new Error(
        `this task may not run ${cmd}: submit or resume with \`deno task slurm ...\` (the one task ` +
          `allowed to run Slurm's commands)${cwd ? ` or run ${cwd}/submit.sh` : ""}`,
      );
    }
    throw new Error(`${cmd} could not be run (${(e as Error).message}); is Slurm installed here?`);
  }
}

async function sbatch(args: string[], cwd: string): Promise<string> {
  const out = await run("sbatch", args, cwd);
  const text = dec.decode(out.stdout).trim();
  if (!out.success || !/^\d+/.test(text)) {
    throw new Error(`sbatch ${args.join(" ")} failed: ${dec.decode(out.stderr).trim() || text}`);
  }
  return text.split(";")[0];
}

/** Submits `steps` in order, each `afterany` the previous; writes jobs.json. */
async function submit(steps: readonly SubmitStep[], c: ClusterFile): Promise<void> {
  let dep: string | null = null;
  const jobs: Record<string, string> = {};
  for (const step of steps) {
    dep = await sbatch(sbatchArgs(step, dep), c.out);
    jobs[step.label] = dep;
    console.log(`submitted ${step.label}: job ${dep}`);
  }
  await writeJobFile(c.jobIds, JSON.stringify({ runId: c.runId, jobs }, null, 1) + "\n");
}

function providerOf(values: Values, gpus: number | undefined): string | undefined {
  const flag = values["require-provider"] as string | undefined;
  if (flag === "none") return undefined;
  return flag ?? defaultRequiredProvider(gpus);
}

/**
 * The jobs run `deno task xcompare`, which may write only the checkout's artifacts/ and reports/:
 * a store or reports folder elsewhere (a shared scratch store) would be refused on every node.
 */
function storeWritableByTask(): void {
  for (
    const [name, dir, inside] of [
      ["XCOMPARE_ARTIFACTS", overrides.artifacts, "artifacts"],
      ["XCOMPARE_REPORTS", overrides.reports, "reports"],
    ] as const
  ) {
    if (!dir) continue;
    const rel = relative(resolve(inside), resolve(dir));
    if (rel.startsWith("..") || isAbsolute(rel)) {
      throw new UsageError(
        `${name}=${dir}: the jobs' \`deno task xcompare\` may write only this checkout's ` +
          `${inside}/; link the shared folder there instead (ln -s ${dir} ${inside}) and unset ${name}`,
      );
    }
  }
}

export async function slurmVerb(values: Values): Promise<number> {
  if (values.resume !== undefined) return await resume(values, values.resume as string);
  if (values.shards === undefined) throw new UsageError("xcompare slurm: --shards N is required");
  storeWritableByTask();
  const shards = intFlag(values, "shards", 1);
  const configPath = configPathOf(values);
  const { waves, runId } = await newClusterRun(values, configPath, shards);
  const out = resolve((values.out as string) ?? join(REPORTS, "slurm", runId));
  const gpus = values["gpus-per-task"] === undefined
    ? undefined
    : countFlag(values, "gpus-per-task", 0) || undefined;
  const c: ClusterFile = {
    config: configPath,
    runId,
    waves,
    ...overrides,
    requireProvider: providerOf(values, gpus),
    shards,
    out,
    logDir: join(out, "logs"),
    jobIds: join(out, "jobs.json"),
  };
  const o: SlurmOptions = {
    ...c,
    workdir: Deno.cwd(),
    partition: values.partition as string | undefined,
    gpusPerTask: gpus,
    cpusPerTask: intFlag(values, "cpus-per-task", slurmDefaults.cpusPerTask),
    mem: (values.mem as string | undefined) ?? slurmDefaults.mem,
    time: values.time as string | undefined,
    signalSeconds: slurmDefaults.signalSeconds,
  };
  const scripts = slurmScripts(o);
  await Deno.mkdir(o.logDir, { recursive: true }).catch((e) => {
    throw new Error(`${out}: cannot create (${(e as Error).message})`);
  });
  for (const [f, text] of Object.entries(scripts)) {
    await writeJobFile(join(out, f), text, 0o755);
  }
  await writeJobFile(join(out, "cluster.json"), JSON.stringify(c, null, 1) + "\n");
  console.log(`run ${runId}: wrote ${Object.keys(scripts).join(", ")}, cluster.json to ${out}`);
  for (const w of waves) {
    console.log(`  wave ${w.index}: ${w.stages.join(", ")} (${w.tasks} shard(s))`);
  }
  console.log(`  final: plain reproduce --run-id ${runId}; report in ${join(REPORTS, runId)}`);
  if (c.requireProvider) console.log(`  every job requires the ${c.requireProvider} provider`);
  if (!values.submit) {
    console.log(`submit with: ${join(out, "submit.sh")}  (or deno task slurm ... --submit)`);
    return 0;
  }
  await submit(submitSteps(waves), c);
  return 0;
}

async function readClusterFile(path: string): Promise<ClusterFile> {
  let c: ClusterFile;
  try {
    c = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(
      `${path}: cannot read the run's cluster.json (${
        e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).name
      }); --resume takes the run id that xcompare slurm printed (or --out its folder)`,
    );
  }
  if (typeof c?.runId !== "string" || typeof c.config !== "string" || !Array.isArray(c.waves)) {
    throw new Error(`${path}: not a cluster.json of xcompare slurm (no runId, config or waves)`);
  }
  return c;
}

/** The run's own jobs still in the queue (pending or running). */
async function queued(runId: string): Promise<string[]> {
  const names = slurmJobNames(runId);
  const out = await run("squeue", ["-h", "-o", "%i %T", `--name=${names.shard},${names.final}`]);
  if (!out.success) throw new Error(`squeue failed: ${dec.decode(out.stderr).trim()}`);
  return dec.decode(out.stdout).trim().split("\n").filter((l) => l.trim());
}

async function resume(values: Values, runId: string): Promise<number> {
  const out = resolve((values.out as string) ?? join(REPORTS, "slurm", runId));
  const c = await readClusterFile(join(out, "cluster.json"));
  if (c.runId !== runId) {
    throw new Error(`${join(out, "cluster.json")}: is run ${c.runId}, not ${runId}`);
  }
  for (
    const [name, want, have] of [
      ["XCOMPARE_ARTIFACTS", c.artifacts, overrides.artifacts],
      ["XCOMPARE_REPORTS", c.reports, overrides.reports],
    ] as const
  ) {
    if ((want ?? "") !== (have ?? "")) {
      throw new Error(
        `run ${runId} used ${name}=${want ?? "(unset)"}, this shell has ${
          have ?? "(unset)"
        }: resume with the run's store and reports`,
      );
    }
  }
  const loaded = await loadPipeline(c.config);
  const waves: Wave[] = c.waves;
  const { missing, done, plans } = await runStatus(loaded, runId, waves);
  const finalDone = plans.every((p) => p.units.every((u) => done.has(`${p.stage.name}/${u.id}`))) &&
    await Deno.stat(join(REPORTS, runId, "report.md")).then(() => true, () => false);
  if (missing.length === 0 && finalDone) {
    console.log(`run ${runId} is complete: ${join(REPORTS, runId, "report.md")}`);
    return 0;
  }
  const rerun = tasksToRerun(missing);
  const steps = submitSteps(waves, rerun);
  console.log(
    missing.length
      ? `run ${runId}: ${missing.length} unit(s) of its waves are missing:\n${
        formatMissing(missing)
      }`
      : `run ${runId}: every wave is complete; the final job did not finish`,
  );
  for (const [w, tasks] of rerun) {
    const wave = waves.find((x) => x.index === w)!;
    console.log(`  resubmit wave ${w}: task(s) ${tasks.join(",")} of ${wave.tasks}`);
  }
  console.log("  resubmit the final job");
  await writeJobFile(
    join(out, "resume.sh"),
    submitScript(c, steps, `Resubmits what run ${runId} is missing, then the final job.`),
    0o755,
  );
  if (!values.submit) {
    console.log(
      `submit with: ${join(out, "resume.sh")}  (or deno task slurm --resume ${runId} --submit)`,
    );
    return 0;
  }
  const busy = await queued(runId);
  if (busy.length) {
    throw new Error(
      `run ${runId} still has jobs in the queue (${busy.join(", ")}); wait for them to end ` +
        "(a wave with missing upstream ends at once) or scancel them, then resume",
    );
  }
  await submit(steps, c);
  return 0;
}
