/**
 * A real single-node Slurm (.ci/slurm-setup installs and starts it). `xcompare slurm --submit`
 * runs tests/slurm/tiny.json (the embedded default cut to two zoo models and 4 images) as 3
 * shards per wave plus the final job, and one wave-1 task is killed (scancel) while it runs. The
 * later waves and the final job must then end, not stay pending, naming the missing units and
 * the killed task; `xcompare slurm --resume` resubmits only what is missing, and the final
 * results.json equals a single-machine run's on every deterministic field. Skips with a message
 * where Slurm cannot be installed or started.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { compareResults, defaultTolerances, formatDiff } from "../report/compare.ts";
import { RunLock } from "../pipeline/runlock.ts";
import { planAll } from "../pipeline/plan.ts";
import { planWaves } from "../pipeline/cluster.ts";
import { shardOf } from "../pipeline/runner.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const TINY = "tests/slurm/tiny.json";
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function setup(): Promise<{ conf: string } | { skip: string }> {
  if (Deno.env.get("XCOMPARE_SKIP_SLURM")) return { skip: "XCOMPARE_SKIP_SLURM is set" };
  try {
    const r = await new Deno.Command(join(ROOT, ".ci/slurm-setup"), {
      stdout: "piped",
      stderr: "piped",
    }).output();
    const conf = /^SLURM_CONF=(.+)$/m.exec(dec(r.stdout))?.[1];
    if (!r.success || !conf) {
      return {
        skip: `Slurm could not be installed or started: ${dec(r.stderr).trim().split("\n").at(-1)}`,
      };
    }
    return { conf };
  } catch (e) {
    return { skip: `.ci/slurm-setup could not run (${(e as Error).message})` };
  }
}

const env = await setup();
if ("skip" in env) console.warn(`slurm_test: skipped (${env.skip})`);

/** Slurm's command-line tools against the test cluster. */
async function slurm(cmd: string, args: string[], conf: string): Promise<string> {
  const r = await new Deno.Command(cmd, {
    args,
    env: { SLURM_CONF: conf },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return dec(r.stdout) + dec(r.stderr);
}

/** `<id>[_<task>]` → JobState (with its reason when pending), one per array task. */
async function states(id: string, conf: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const line of (await slurm("scontrol", ["-o", "show", "job", id], conf)).split("\n")) {
    const job = /JobId=(\d+)/.exec(line)?.[1];
    const state = /JobState=(\S+) Reason=(\S+)/.exec(line);
    if (!job || !state) continue;
    const task = /ArrayTaskId=(\d+)/.exec(line)?.[1];
    const name = /ArrayJobId=(\d+)/.exec(line)?.[1] ?? job;
    out.set(task === undefined ? name : `${name}_${task}`, `${state[1]} ${state[2]}`);
  }
  return out;
}

const ENDED = /^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|DEADLINE|PREEMPTED)/;

/** Waits until every job has ended; a job pending on a dependency that can never be met fails. */
async function ended(ids: string[], conf: string, ms: number): Promise<Map<string, string>> {
  for (const t0 = Date.now();;) {
    const all = new Map<string, string>();
    for (const id of ids) for (const [k, v] of await states(id, conf)) all.set(k, v);
    const stuck = [...all].find(([, s]) => /NeverSatisfied|PartitionConfig|BadConstraints/.test(s));
    if (stuck) throw new Error(`job ${stuck[0]} is pending forever: ${stuck[1]}`);
    if (all.size && [...all.values()].every((s) => ENDED.test(s))) return all;
    if (Date.now() - t0 > ms) {
      throw new Error(`jobs still not ended after ${ms / 1000} s: ${JSON.stringify([...all])}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function logs(dir: string): Promise<string> {
  const files = await Array.fromAsync(Deno.readDir(dir)).catch(() => []);
  const text = await Promise.all(
    files.map(async (f) =>
      `--- ${f.name}\n${(await Deno.readTextFile(join(dir, f.name))).slice(-1500)}`
    ),
  );
  return text.join("\n");
}

Deno.test({
  name: "Slurm: a killed shard ends the run's later jobs naming it; --resume completes the run",
  ignore: "skip" in env,
  async fn() {
    const conf = (env as { conf: string }).conf;
    const tag = `.slurm-test-${Deno.pid}`;
    // Under artifacts/ and reports/ so `deno task xcompare` may write there; dot folders are
    // invisible to gc and to lockfile scans.
    const dirs = {
      store: `artifacts/${tag}/store`,
      reports: `reports/${tag}/reports`,
      refStore: `artifacts/${tag}/ref-store`,
      refReports: `reports/${tag}/ref-reports`,
    };
    const base = {
      SLURM_CONF: conf,
      DENO: Deno.execPath(),
      NO_COLOR: "1",
      XCOMPARE_ARTIFACTS: dirs.store,
      XCOMPARE_REPORTS: dirs.reports,
    };
    // `slurm` runs under its own task, the one allowed to run sbatch, squeue and sacct.
    const xcompare = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: args[0] === "slurm" ? ["task", ...args] : ["task", "xcompare", ...args],
        cwd: ROOT,
        env: base,
        stdout: "piped",
        stderr: "piped",
      }).output();
    const out = join(ROOT, dirs.reports, "slurm", "sl");
    const submitted: string[] = [];
    let held: RunLock | null = null;
    const cwd = Deno.cwd();
    Deno.chdir(ROOT);
    try {
      // The single-machine reference, concurrently with the cluster run.
      const ref = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "cli/main.ts", "reproduce", "--config", TINY, "--run-id", "ref"],
        cwd: ROOT,
        env: { XCOMPARE_ARTIFACTS: dirs.refStore, XCOMPARE_REPORTS: dirs.refReports },
        stdout: "piped",
        stderr: "piped",
      }).output();

      // The wave-1 task to kill: the one owning most preprocess units. Holding its shard lock
      // keeps it running (waiting for the lock) until it is cancelled.
      const { loadPipeline } = await import("../cli/app.ts");
      const plans = await planAll((await loadPipeline(TINY)).spec);
      const waves = planWaves(
        plans.map((p) => p.stage),
        3,
        Object.fromEntries(plans.map((p) => [p.stage.name, p.units.length])),
      );
      const w1 = waves[0];
      const owned = Array.from(
        { length: w1.tasks },
        (_, t) =>
          plans.find((p) => p.stage.name === w1.stages[0])!.units
            .filter((u) => shardOf(w1.stages[0], u.id, w1.tasks) === t).length,
      );
      const victim = owned.indexOf(Math.max(...owned));
      held = await RunLock.acquire(
        join(ROOT, dirs.store),
        `run-shard-${victim}-of-${w1.tasks}`,
        { releaseOnSignal: false, log: () => {} },
      );

      const sub = await xcompare([
        "slurm",
        "--config",
        TINY,
        "--shards",
        "3",
        "--run-id",
        "sl",
        "--cpus-per-task",
        "1",
        "--mem",
        "500M",
        "--submit",
      ]);
      assert(sub.success, `xcompare slurm --submit failed:\n${dec(sub.stdout)}${dec(sub.stderr)}`);
      const first: Record<string, string> =
        JSON.parse(await Deno.readTextFile(join(out, "jobs.json"))).jobs;
      submitted.push(...Object.values(first));
      assertEquals(Object.keys(first), [...waves.map((w) => `wave${w.index}`), "final"]);
      for (const f of ["shard.sbatch", "final.sbatch"]) {
        const text = await Deno.readTextFile(join(out, f));
        for (const l of ["--requeue", "--signal=B:TERM@120", "--mem=500M"]) {
          assert(text.includes(l), `${f} lacks ${l}`);
        }
      }

      // Kill the victim once it is inside `reproduce`, waiting for the lock we hold.
      const killed = `${first.wave1}_${victim}`;
      const log = join(out, "logs", `xcompare-sl-shard-${killed}.out`);
      for (const t0 = Date.now();;) {
        const text = await Deno.readTextFile(log).catch(() => "");
        if (text.includes("another xcompare run holds the store")) break;
        if (Date.now() - t0 > 120_000) {
          throw new Error(`${killed} never waited for the lock:\n${await logs(join(out, "logs"))}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      assert((await states(killed, conf)).get(killed)?.startsWith("RUNNING"));
      await slurm("scancel", [killed], conf);

      // Nothing stays pending: every later job ends, failing, and the final job names the task.
      const after = await ended(Object.values(first), conf, 180_000).catch(async (e) => {
        throw new Error(`${e.message}\n${await logs(join(out, "logs"))}`);
      });
      assert(after.get(killed)!.startsWith("CANCELLED"), after.get(killed));
      for (const w of waves.slice(1)) {
        for (let t = 0; t < w.tasks; t++) {
          const s = after.get(`${first[`wave${w.index}`]}_${t}`) ??
            after.get(first[`wave${w.index}`]);
          assert(s?.startsWith("FAILED"), `wave ${w.index} task ${t}: ${s}`);
        }
      }
      assert(after.get(first.final)!.startsWith("FAILED"), after.get(first.final));
      const finalLog = await Deno.readTextFile(
        join(out, "logs", `xcompare-sl-final-${first.final}.out`),
      );
      assert(
        finalLog.includes(`wave 1 task ${victim} of ${w1.tasks} (Slurm job ${killed}):`) &&
          finalLog.includes(`${w1.stages[0]}/`),
        finalLog,
      );
      await held.release();
      held = null;

      // --resume: only the killed task of wave 1, then what depends on it, then the final job.
      const res = await xcompare(["slurm", "--resume", "sl", "--submit"]);
      assert(res.success, `xcompare slurm --resume failed:\n${dec(res.stdout)}${dec(res.stderr)}`);
      assert(
        dec(res.stdout).includes(`resubmit wave 1: task(s) ${victim} of ${w1.tasks}\n`),
        dec(res.stdout),
      );
      const second: Record<string, string> =
        JSON.parse(await Deno.readTextFile(join(out, "jobs.json"))).jobs;
      submitted.push(...Object.values(second));
      const done = await ended(Object.values(second), conf, 300_000).catch(async (e) => {
        throw new Error(`${e.message}\n${await logs(join(out, "logs"))}`);
      });
      const bad = [...done].filter(([, s]) => !s.startsWith("COMPLETED"));
      assertEquals(bad, [], await logs(join(out, "logs")));
      assertEquals([...done.keys()].filter((k) => k.startsWith(`${second.wave1}_`)), [
        `${second.wave1}_${victim}`,
      ]);

      const refOut = await ref;
      assert(refOut.success, `reference run failed:\n${dec(refOut.stderr).slice(-2000)}`);
      const read = async (p: string) => JSON.parse(await Deno.readTextFile(join(ROOT, p)));
      const expected = await read(`${dirs.refReports}/ref/results.json`);
      const actual = await read(`${dirs.reports}/sl/results.json`);
      const diffs = compareResults(expected, actual, defaultTolerances);
      assertEquals(diffs.length, 0, `results differ:\n${formatDiff(diffs)}`);

      // The shards did the per-image work: the final job computed only kpca and the report.
      const run = await read(`${dirs.reports}/sl/run.json`);
      for (const s of run.summaries as { stage: string; computed: number; units: number }[]) {
        if (s.stage === "kpca" || s.stage === "report") assertEquals(s.computed, 1);
        else assertEquals(s.computed, 0, `final job computed ${s.stage}`);
      }
      // Every shard released its lock, the cancelled one included.
      const locks = (await Array.fromAsync(Deno.readDir(join(ROOT, dirs.store))))
        .map((e) => e.name).filter((n) => n.endsWith(".lock"));
      assertEquals(locks, []);
      // A second resume finds nothing to do.
      const again = await xcompare(["slurm", "--resume", "sl"]);
      assert(dec(again.stdout).includes("run sl is complete"), dec(again.stdout));
    } catch (e) {
      // Leave nothing queued behind a failed test.
      if (submitted.length) await slurm("scancel", submitted, conf).catch(() => "");
      throw e;
    } finally {
      Deno.chdir(cwd);
      await held?.release();
      await Deno.remove(join(ROOT, "artifacts", tag), { recursive: true }).catch(() => {});
      await Deno.remove(join(ROOT, "reports", tag), { recursive: true }).catch(() => {});
    }
  },
});
