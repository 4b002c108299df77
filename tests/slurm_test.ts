/**
 * A real single-node Slurm (.ci/slurm-setup installs and starts it): `deno task slurm --submit`
 * runs tests/slurm/tiny.json (the embedded default cut to two zoo models and 4 images) as 3
 * shards (job-array waves) plus the dependent final job, and the final results.json equals a
 * single-machine run's on every deterministic field. Skips with a message where Slurm cannot be
 * installed or started.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { compareResults, defaultTolerances, formatDiff } from "../report/compare.ts";

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

/** JobState of every task of a job (array jobs list one per task). */
async function states(id: string, conf: string): Promise<string[]> {
  const r = await new Deno.Command("scontrol", {
    args: ["-o", "show", "job", id],
    env: { SLURM_CONF: conf },
    stdout: "piped",
    stderr: "piped",
  }).output();
  // A pending job that can never start reads as a failure (e.g. Reason=PartitionConfig).
  return [...dec(r.stdout).matchAll(/JobState=(\S+) Reason=(\S+)/g)].map((m) =>
    m[1] === "PENDING" && /PartitionConfig|BadConstraints|NeverSatisfied|ReqNodeNotAvail/.test(m[2])
      ? `FAILED (${m[2]})`
      : m[1]
  );
}

Deno.test({
  name: "Slurm: 3 shards + final job reproduce a single-machine results.json",
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
    const base = { SLURM_CONF: conf, DENO: Deno.execPath(), NO_COLOR: "1" };
    try {
      // The single-machine reference, concurrently with the cluster run.
      const ref = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "cli/main.ts", "reproduce", "--config", TINY, "--run-id", "ref"],
        cwd: ROOT,
        env: { XCOMPARE_ARTIFACTS: dirs.refStore, XCOMPARE_REPORTS: dirs.refReports },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const sub = await new Deno.Command(Deno.execPath(), {
        args: [
          "task",
          "slurm",
          "--config",
          TINY,
          "--shards",
          "3",
          "--run-id",
          "sl",
          "--cpus-per-task",
          "1",
          "--submit",
        ],
        cwd: ROOT,
        env: { ...base, XCOMPARE_ARTIFACTS: dirs.store, XCOMPARE_REPORTS: dirs.reports },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(sub.success, `xcompare slurm --submit failed:\n${dec(sub.stdout)}${dec(sub.stderr)}`);
      const out = join(ROOT, dirs.reports, "slurm", "sl");
      const jobs: Record<string, string> =
        JSON.parse(await Deno.readTextFile(join(out, "jobs.json"))).jobs;
      assert(Object.keys(jobs).length >= 3, JSON.stringify(jobs));

      // Wait for every job: all COMPLETED, or fail on the first bad state.
      const deadline = Date.now() + 5 * 60_000;
      for (;;) {
        const all = (await Promise.all(Object.values(jobs).map((id) => states(id, conf)))).flat();
        const bad = all.find((s) => /FAIL|CANCEL|TIMEOUT|NODE_FAIL|OUT_OF_ME|DEADLINE/.test(s));
        if (bad || Date.now() > deadline) {
          const logs = await Array.fromAsync(Deno.readDir(join(out, "logs")));
          const text = await Promise.all(
            logs.map(async (l) =>
              `--- ${l.name}\n${(await Deno.readTextFile(join(out, "logs", l.name))).slice(-1500)}`
            ),
          );
          throw new Error(
            `jobs ${JSON.stringify(jobs)}: ${bad ?? "timed out"}\n${text.join("\n")}`,
          );
        }
        if (all.length && all.every((s) => s === "COMPLETED")) break;
        await new Promise((r) => setTimeout(r, 1000));
      }

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
      const shardDirs = (await Array.fromAsync(Deno.readDir(join(ROOT, dirs.reports))))
        .map((e) => e.name).filter((n) => /^sl-w\d+-shard-/.test(n));
      assert(shardDirs.some((n) => n.endsWith("-shard-2-of-3")), shardDirs.join(", "));
    } catch (e) {
      // Leave nothing queued behind a failed test.
      const jobsFile = join(ROOT, dirs.reports, "slurm", "sl", "jobs.json");
      const ids = await Deno.readTextFile(jobsFile)
        .then((t) => Object.values(JSON.parse(t).jobs) as string[])
        .catch(() => [] as string[]);
      if (ids.length) {
        await new Deno.Command("scancel", { args: ids, env: { SLURM_CONF: conf } }).output()
          .catch(() => {});
      }
      throw e;
    } finally {
      await Deno.remove(join(ROOT, "artifacts", tag), { recursive: true }).catch(() => {});
      await Deno.remove(join(ROOT, "reports", tag), { recursive: true }).catch(() => {});
    }
  },
});
