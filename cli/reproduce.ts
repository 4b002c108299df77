/**
 * `xcompare reproduce`: runs the pipeline under the store's run lock, writes the run's lockfile
 * and run.json into reports/<run-id>/, and renders the report (a shard run writes only the
 * lockfile; its final plain run renders). When that folder already holds the same units rendered
 * by the same code (cli/run_record.ts), it says "up to date" and writes nothing.
 */
import { join } from "node:path";
import { intFlag, shardFlag, type Values } from "./args.ts";
import { ARTIFACTS, configPathOf, loadPipeline, publish, REPORTS, runIdFor } from "./app.ts";
import { isUpToDate, renderKeyOf, RUN_RECORD, type RunRecord } from "./run_record.ts";
import { buildLock, LOCK_NAME, writeAtomic } from "../pipeline/lockfile.ts";
import { formatDuration } from "../pipeline/progress.ts";
import { RunLock } from "../pipeline/runlock.ts";
import { type RunOptions, runPipeline, type RunResult } from "../pipeline/runner.ts";

export async function reproduceVerb(values: Values): Promise<number> {
  const configPath = configPathOf(values);
  const { spec, configHash, overrides } = await loadPipeline(configPath, values.set as string[]);
  const shard = shardFlag(values.shard);
  const options: Partial<RunOptions> = {
    only: (values.only as string[]) ?? [],
    force: (values.force as string[]) ?? [],
    from: values.from as string | undefined,
    dryRun: Boolean(values["dry-run"]),
    verify: Boolean(values.verify),
    jobs: values.jobs === undefined ? undefined : intFlag(values, "jobs", 1),
    shard,
  };
  const identify = async (result: RunResult) => {
    const lockFile = buildLock("", configPath, configHash, result.records);
    const runId = (values["run-id"] as string) ??
      runIdFor(configPath, { configHash, stages: lockFile.stages });
    lockFile.runId = runId;
    const runDir = join(REPORTS, shard ? `${runId}-shard-${shard.index}-of-${shard.count}` : runId);
    const render = shard ? null : await renderKeyOf(result, runId);
    const upToDate = result.ok && render !== null && await isUpToDate(runDir, lockFile, render);
    return { lockFile, runId, runDir, render, upToDate };
  };
  if (!shard && !options.dryRun && !options.verify) {
    // Checked before taking the store lock, since a no-op must cost no more than `status`: when
    // every unit is in the store and the run's folder holds them rendered by this code, nothing is
    // written. That folder's lockfile names every unit, so a concurrent gc keeps them. (--verify
    // reads every file, so it checks once, under the lock.)
    const probe = await runPipeline(spec, { ...options, dryRun: true, log: () => {} });
    const id = await identify(probe);
    if (id.upToDate) return reportUpToDate(probe, id.runDir);
  }
  const lock = await RunLock.acquire(
    ARTIFACTS,
    shard ? `run-shard-${shard.index}-of-${shard.count}` : "run",
    { wait: !values["no-wait"] },
  );
  try {
    const result = await runPipeline(spec, options);
    if (values["dry-run"]) {
      console.log(dryRunTable(result));
      return 0;
    }
    const { lockFile, runId, runDir, render, upToDate } = await identify(result);
    if (upToDate) return reportUpToDate(result, runDir);
    await Deno.mkdir(runDir, { recursive: true });
    await writeAtomic(join(runDir, LOCK_NAME), JSON.stringify(lockFile, null, 1));
    const record: RunRecord = {
      runId,
      config: configPath,
      configHash,
      overrides,
      created: lockFile.createdAt,
      runtime: result.runtime,
      shard,
      summaries: result.summaries,
    };
    const label = overrides.length
      ? `${configPath} --set ${overrides.join(" --set ")}`
      : configPath;
    const published = render !== null && await publish(result, spec, runId, runDir, label);
    if (published) record.render = render;
    await writeAtomic(join(runDir, RUN_RECORD), JSON.stringify(record, null, 1));
    console.log(summaryTable(result));
    for (const r of result.records.filter((r) => r.outcome === "failed")) {
      console.log(`FAILED ${r.stage}/${r.unit}: ${r.detail}`);
    }
    console.log(
      published
        ? `report: ${runDir}/report.md (and report.html; copied to ${join(REPORTS, "latest")})`
        : `lockfile: ${runDir}/${LOCK_NAME}`,
    );
    return result.ok ? 0 : 1;
  } finally {
    await lock.release();
  }
}

/** What a rerun that changed nothing prints: the folder that already holds its report. */
function reportUpToDate(result: RunResult, runDir: string): number {
  const units = result.summaries.reduce((a, s) => a + s.units, 0);
  const computed = result.summaries.reduce((a, s) => a + s.computed, 0);
  console.log(
    `${units - computed}/${units} units cached` +
      (computed ? `, ${computed} recomputed with the same output` : "") + "; report unchanged",
  );
  console.log(`up to date: ${runDir}/report.md`);
  return 0;
}

/** `--dry-run`: per stage, what would be computed and what is cached. */
function dryRunTable(result: RunResult): string {
  return result.summaries.map((s) => {
    const planned = result.records.filter((r) => r.stage === s.stage && r.outcome === "planned");
    return `${s.stage}: ${planned.length} to compute, ${s.reused} cached${
      s.blocked ? `, ${s.blocked} waiting on upstream` : ""
    }`;
  }).join("\n");
}

function summaryTable(result: RunResult): string {
  const rows = result.summaries.map((s) => {
    const evals = s.counters.modelEvals ? `  model evals ${s.counters.modelEvals}` : "";
    return `  ${s.stage.padEnd(16)} computed ${String(s.computed).padStart(4)}  reused ${
      String(s.reused).padStart(4)
    }${s.failed ? `  FAILED ${s.failed}` : ""}${s.blocked ? `  blocked ${s.blocked}` : ""}${
      s.skipped ? `  other shards ${s.skipped}` : ""
    }  ${formatDuration(s.wallSeconds).padStart(7)}${evals}`;
  });
  return ["summary:", ...rows].join("\n");
}
