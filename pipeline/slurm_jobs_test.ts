import { join } from "node:path";
import { assert, assertEquals } from "../tests/assert.ts";
import { stages, units } from "../tests/fixtures/cluster_dag.ts";
import { formatLayout, planWaves } from "./cluster.ts";
import {
  sbatchArgs,
  type SlurmOptions,
  slurmScripts,
  submitScript,
  submitSteps,
} from "./slurm_jobs.ts";

const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const tmpFile = async (dir: string, name: string, text: string) => {
  const p = join(dir, name);
  await Deno.writeTextFile(p, text);
  await Deno.chmod(p, 0o755);
  return p;
};

const bash = (args: string[], env: Record<string, string> = {}, cwd?: string) =>
  new Deno.Command("bash", { args, env, cwd, stdout: "piped", stderr: "piped" }).output();

const options = (dir: string, over: Partial<SlurmOptions> = {}): SlurmOptions => ({
  config: "configs/my config.json",
  runId: "r1",
  waves: planWaves(stages, 3, units),
  workdir: "/proj",
  logDir: join(dir, "logs"),
  jobIds: join(dir, "jobs.json"),
  partition: "gpu",
  gpusPerTask: 1,
  cpusPerTask: 8,
  mem: "32G",
  time: "24:00:00",
  signalSeconds: 120,
  artifacts: "/shared/store",
  requireProvider: "cuda",
  ...over,
});

/** A fake sbatch that records its arguments and answers job ids 100, 101, ... */
async function fakeSbatch(dir: string): Promise<Record<string, string>> {
  const bin = join(dir, "bin");
  await Deno.mkdir(bin, { recursive: true });
  await tmpFile(
    bin,
    "sbatch",
    `#!/usr/bin/env bash\nn=$(wc -l < "${dir}/calls" 2>/dev/null || echo 0)\n` +
      `echo "$*" >> "${dir}/calls"\necho "$((100 + n));cluster"\n`,
  );
  return { PATH: `${bin}:${Deno.env.get("PATH")}` };
}

Deno.test("slurm scripts: valid bash; --requeue, --signal, --mem; submit.sh chains afterany", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-slurm-" });
  try {
    const o = options(dir);
    const files = slurmScripts(o);
    for (const [name, text] of Object.entries(files)) {
      await tmpFile(dir, name, text);
      const r = await bash(["-n", join(dir, name)]);
      assert(r.success, `${name}: ${dec(r.stderr)}`);
    }
    for (const f of ["shard.sbatch", "final.sbatch"]) {
      for (
        const l of [
          "#SBATCH --requeue",
          "#SBATCH --signal=B:TERM@120",
          "#SBATCH --mem=32G",
          "#SBATCH --partition=gpu",
          "#SBATCH --cpus-per-task=8",
          "#SBATCH --chdir=/proj",
          "#SBATCH --time=24:00:00",
          "XCOMPARE_ARTIFACTS=${XCOMPARE_ARTIFACTS:-/shared/store}",
          `--waves '${formatLayout(o.waves)}'`,
          `--job-ids ${join(dir, "jobs.json")}`,
        ]
      ) assert(files[f].includes(l), `${f} lacks ${l}`);
    }
    // Shards get the GPU (with --ntasks, which Slurm 23.11 requires beside --gpus-per-task); the
    // final job, left with kpca and the report, runs on a CPU node and requires no provider.
    for (
      const l of ["#SBATCH --ntasks=1", "#SBATCH --gpus-per-task=1", "--require-provider cuda"]
    ) {
      assert(files["shard.sbatch"].includes(l), `shard.sbatch lacks ${l}`);
      assert(!files["final.sbatch"].includes(l), `final.sbatch has ${l}`);
    }
    assert(files["shard.sbatch"].includes('--shard "$SLURM_ARRAY_TASK_ID/$tasks"'));
    assert(
      files["final.sbatch"].includes(
        "exec \"$DENO\" task xcompare reproduce --config 'configs/my config.json' --run-id r1",
      ),
    );
    // Without GPUs nothing requires a provider.
    const cpu = slurmScripts(options(dir, { gpusPerTask: undefined, requireProvider: undefined }));
    assert(!cpu["shard.sbatch"].includes("--gpus-per-task"));
    assert(!cpu["shard.sbatch"].includes("--require-provider"));

    const env = await fakeSbatch(dir);
    const r = await bash([join(dir, "submit.sh")], env);
    assert(r.success, dec(r.stderr));
    const calls = (await Deno.readTextFile(join(dir, "calls"))).trim().split("\n");
    assertEquals(calls, [
      "--parsable --array=0-2 shard.sbatch 1 3 preprocess",
      "--parsable --dependency=afterany:100 --array=0-0 shard.sbatch 2 1 infer-baselines",
      "--parsable --dependency=afterany:101 --array=0-2 shard.sbatch 3 3 mse-search igos-heatmaps",
      "--parsable --dependency=afterany:102 --array=0-2 shard.sbatch 4 3 subtree-count cross-test",
      "--parsable --dependency=afterany:103 final.sbatch",
    ]);
    assert(dec(r.stdout).includes("final: job 104"));
    assertEquals(JSON.parse(await Deno.readTextFile(join(dir, "jobs.json"))), {
      runId: "r1",
      jobs: { wave1: "100", wave2: "101", wave3: "102", wave4: "103", final: "104" },
    });
    // The verb's own submission makes the same calls.
    let prev: string | null = null;
    const verb = submitSteps(o.waves).map((s, i) => {
      const a = sbatchArgs(s, prev).join(" ");
      prev = String(100 + i);
      return a;
    });
    assertEquals(verb, calls);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a resume submits only the named tasks of the named waves, then the final job", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-slurm-" });
  try {
    const o = options(dir);
    const steps = submitSteps(o.waves, new Map([[1, [1]], [3, [0, 2]], [4, [0, 1, 2]]]));
    await tmpFile(dir, "resume.sh", submitScript(o, steps, "resume"));
    const r = await bash([join(dir, "resume.sh")], await fakeSbatch(dir));
    assert(r.success, dec(r.stderr));
    assertEquals((await Deno.readTextFile(join(dir, "calls"))).trim().split("\n"), [
      "--parsable --array=1 shard.sbatch 1 3 preprocess",
      "--parsable --dependency=afterany:100 --array=0,2 shard.sbatch 3 3 mse-search igos-heatmaps",
      "--parsable --dependency=afterany:101 --array=0,1,2 shard.sbatch 4 3 subtree-count cross-test",
      "--parsable --dependency=afterany:102 final.sbatch",
    ]);
    assertEquals(JSON.parse(await Deno.readTextFile(join(dir, "jobs.json"))).jobs, {
      wave1: "100",
      wave3: "101",
      wave4: "102",
      final: "103",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A fake deno: records each call; wave-check exits $CHECK_EXIT; reproduce runs until SIGTERM. */
const fakeDeno = (calls: string) =>
  `#!/usr/bin/env bash
echo "$*" >> "${calls}"
case "$*" in
*wave-check*) exit "\${CHECK_EXIT:-0}" ;;
*reproduce*)
  trap 'echo "SIGTERM reached reproduce" >> "${calls}"; exit 143' TERM
  echo started >> "${calls}"
  while :; do sleep 0.05; done ;;
esac
`;

Deno.test("shard.sbatch: wave-check first, then exec reproduce, which the batch shell's SIGTERM reaches", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-slurm-" });
  try {
    const calls = join(dir, "calls");
    const deno = await tmpFile(dir, "deno", fakeDeno(calls));
    const files = slurmScripts(options(dir));
    const shard = await tmpFile(dir, "shard.sbatch", files["shard.sbatch"]);
    const env = { DENO: deno, SLURM_ARRAY_TASK_ID: "2", PATH: Deno.env.get("PATH")! };
    const task = new Deno.Command("bash", {
      args: [shard, "3", "3", "mse-search", "igos-heatmaps"],
      env,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    for (
      const t0 = Date.now();
      !(await Deno.readTextFile(calls).catch(() => "")).includes("started");
    ) {
      if (Date.now() - t0 > 20_000) throw new Error("reproduce never started");
      await new Promise((r) => setTimeout(r, 20));
    }
    // Slurm's --signal=B:TERM signals only the batch shell's pid: after exec, that is deno.
    task.kill("SIGTERM");
    const r = await task.output();
    assertEquals(r.code, 143, dec(r.stderr));
    const lines = (await Deno.readTextFile(calls)).trim().split("\n");
    assertEquals(
      lines[0].split(" --waves")[0],
      "task xcompare wave-check --config configs/my config.json --run-id r1",
    );
    assert(lines[0].endsWith(`--wave 3 --job-ids ${join(dir, "jobs.json")}`), lines[0]);
    assertEquals(
      lines[1],
      "task xcompare reproduce --config configs/my config.json --shard 2/3 --only mse-search " +
        "--only igos-heatmaps --run-id r1-w3 --require-provider cuda",
    );
    assertEquals(lines.slice(2), ["started", "SIGTERM reached reproduce"]);

    // A failing check ends the task before anything is computed, with the check's status.
    await Deno.remove(calls);
    const failed = await bash([shard, "3", "3", "mse-search"], { ...env, CHECK_EXIT: "3" });
    assertEquals(failed.code, 3);
    assertEquals((await Deno.readTextFile(calls)).trim().split("\n").length, 1);
    const final = await tmpFile(dir, "final.sbatch", files["final.sbatch"]);
    const f = await bash([final], { ...env, CHECK_EXIT: "3" });
    assertEquals(f.code, 3);
    assert((await Deno.readTextFile(calls)).includes("--wave final"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
