/**
 * `xcompare reproduce`: runs the pipeline under the store's run lock, writes the run's lockfile
 * and run.json into reports/<run-id>/, and renders the report (a shard run writes only the
 * lockfile; its final plain run renders).
 */
import { join } from "node:path";
import { intFlag, shardFlag, type Values } from "./args.ts";
import { ARTIFACTS, configPathOf, loadPipeline, newRunId, publish, REPORTS } from "./app.ts";
import { buildLock, LOCK_NAME, writeAtomic } from "../pipeline/lockfile.ts";
import { formatDuration } from "../pipeline/progress.ts";
import { RunLock } from "../pipeline/runlock.ts";
import {
  type QuarantinedEntry,
  type RunOptions,
  runPipeline,
  type RunResult,
} from "../pipeline/runner.ts";
import { CorruptEntryError, quarantineCorrupt } from "../pipeline/checked_read.ts";

export async function reproduceVerb(values: Values): Promise<number> {
  const configPath = configPathOf(values);
  const { spec, config, configHash } = await loadPipeline(configPath);
  const shard = shardFlag(values.shard);
  const lock = await RunLock.acquire(
    ARTIFACTS,
    shard ? `run-shard-${shard.index}-of-${shard.count}` : "run",
    { wait: !values["no-wait"] },
  );
  try {
    const runId = (values["run-id"] as string) ?? newRunId(config.name);
    const options: Partial<RunOptions> = {
      only: (values.only as string[]) ?? [],
      force: (values.force as string[]) ?? [],
      from: values.from as string | undefined,
      dryRun: Boolean(values["dry-run"]),
      verify: Boolean(values.verify),
      jobs: values.jobs === undefined ? undefined : intFlag(values, "jobs", 1),
      shard,
    };
    // A second run only when the report's own entry turns out corrupt as it is published.
    const movedByPublish: QuarantinedEntry[] = [];
    for (let attempt = 1;; attempt++) {
      const result = await runPipeline(spec, options);
      result.quarantined.unshift(...movedByPublish);
      if (values["dry-run"]) {
        console.log(dryRunTable(result));
        return 0;
      }
      const runDir = join(
        REPORTS,
        shard ? `${runId}-shard-${shard.index}-of-${shard.count}` : runId,
      );
      await Deno.mkdir(runDir, { recursive: true });
      await writeAtomic(
        join(runDir, LOCK_NAME),
        JSON.stringify(buildLock(runId, configPath, configHash, result.records), null, 1),
      );
      await writeAtomic(
        join(runDir, "run.json"),
        JSON.stringify(
          {
            runId,
            config: configPath,
            runtime: result.runtime,
            shard,
            summaries: result.summaries,
            integrity: integrityOf(result),
          },
          null,
          1,
        ),
      );
      let published: boolean;
      try {
        published = !shard && await publish(result, spec, runId, runDir);
      } catch (e) {
        if (!(e instanceof CorruptEntryError) || attempt > 1) throw e;
        const to = await quarantineCorrupt(spec.store, e);
        const detail = `${e.file} ${e.detail}`;
        movedByPublish.push({
          stage: e.stage,
          key: e.key,
          unit: e.unit,
          found: "read",
          detail,
          to,
        });
        console.error(`report: ${e.message}; moved to ${to}, running again to recompute it`);
        continue;
      }
      console.log(summaryTable(result));
      for (const line of integrityLines(result)) console.log(line);
      for (const r of result.records.filter((r) => r.outcome === "failed")) {
        console.log(`FAILED ${r.stage}/${r.unit}: ${r.detail}`);
      }
      console.log(
        published
          ? `report: ${runDir}/report.md (and report.html; copied to ${join(REPORTS, "latest")})`
          : `lockfile: ${runDir}/${LOCK_NAME}`,
      );
      return result.ok ? 0 : 1;
    }
  } finally {
    await lock.release();
  }
}

/** What run.json keeps of the store's checks: passes, the read checks' cost, what was moved. */
function integrityOf(r: RunResult) {
  return {
    passes: r.passes,
    readChecks: r.readChecks,
    verified: r.verified && {
      entries: r.verified.entries,
      files: r.verified.files,
      bytes: r.verified.bytes,
      seconds: r.verified.seconds,
    },
    quarantined: r.quarantined,
  };
}

/** `--verify`'s figures and every entry moved aside, for the summary. */
function integrityLines(r: RunResult): string[] {
  const out: string[] = [];
  if (r.verified) {
    const v = r.verified;
    out.push(
      `verify: hashed ${v.entries} entries (${v.files} files, ${
        (v.bytes / 2 ** 20).toFixed(1)
      } MiB) in ${
        formatDuration(v.seconds)
      }: ${v.corrupt.length} corrupt, ${v.derived.length} built from corrupt bytes without checked reads`,
    );
  }
  for (const q of r.quarantined) {
    out.push(`moved aside: ${q.stage}/${q.unit ?? "?"} (${q.found}: ${q.detail}) → ${q.to}`);
  }
  if (r.passes > 1) out.push(`${r.passes} passes: corrupt inputs found by checked reads`);
  return out;
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
