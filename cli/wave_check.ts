/**
 * `xcompare wave-check`: what every wave and the final job of a sharded run do first. Exit 0 when
 * every unit of the earlier waves is in the store; else exit 3, naming the missing units and the
 * tasks that should have made them, so a failed or cancelled task ends the run's later jobs at
 * once rather than leaving them pending or letting them compute on a partial upstream.
 */
import { UsageError, type Values } from "./args.ts";
import { configPathOf, loadPipeline } from "./app.ts";
import { runStatus } from "./jobs.ts";
import { parseLayout, UPSTREAM_MISSING } from "../pipeline/cluster.ts";
import { formatCause } from "../pipeline/wave_status.ts";

export async function waveCheckVerb(values: Values): Promise<number> {
  for (const f of ["run-id", "waves", "wave"]) {
    if (values[f] === undefined) throw new UsageError(`xcompare wave-check: --${f} is required`);
  }
  const runId = values["run-id"] as string;
  const waves = parseLayout(values.waves as string);
  const raw = values.wave as string;
  const upTo = raw === "final" ? waves.length + 1 : Number(raw);
  if (!Number.isInteger(upTo) || upTo < 1 || upTo > waves.length + 1) {
    throw new UsageError(
      `--wave: expected 1..${waves.length + 1} or "final", got "${raw}"`,
    );
  }
  const what = raw === "final" ? "the final job" : `wave ${upTo}`;
  const before = waves.filter((w) => w.index < upTo);
  if (before.length === 0) {
    console.error(`wave-check ${runId}: ${what} follows no wave`);
    return 0;
  }
  const { missing, units } = await runStatus(
    await loadPipeline(configPathOf(values)),
    runId,
    before,
  );
  if (missing.length === 0) {
    console.error(
      `wave-check ${runId}: ${what}: all ${units} unit(s) of wave(s) 1-${before.length} are in ` +
        "the store",
    );
    return 0;
  }
  const jobs = await readJobIds(values["job-ids"] as string | undefined);
  console.error(
    [
      `xcompare wave-check: ${what} of run ${runId} cannot run: ${missing.length} of ${units} ` +
      `unit(s) of wave(s) 1-${before.length} are not in the store.`,
      formatCause(missing, jobs),
      `Rerun only what is missing: deno task slurm --resume ${runId} --submit ` +
      "(Slurm), or run the run's run.sh again (Kubernetes: it replaces failed Jobs).",
    ].join("\n"),
  );
  return UPSTREAM_MISSING;
}

/** jobs.json's `jobs` (`wave<k>` → Slurm job id); none when the file is absent or unreadable. */
async function readJobIds(path: string | undefined): Promise<Record<string, string>> {
  if (!path) return {};
  try {
    const jobs = JSON.parse(await Deno.readTextFile(path)).jobs;
    return jobs && typeof jobs === "object" ? jobs : {};
  } catch {
    return {};
  }
}
