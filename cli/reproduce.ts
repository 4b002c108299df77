/**
 * `xcompare reproduce`: runs the pipeline under the store's run lock, writes the run's lockfile
 * and run.json into reports/<run-id>/, and renders the report (a shard run writes only the
 * lockfile; its final plain run renders). When that folder already holds the same units rendered
 * by the same code (cli/run_record.ts), it says "up to date" and writes nothing. The run id and the
 * writability of the store and the reports folder are checked before anything is computed.
 * Skipped images are counted and listed; `--strict` makes any of them a non-zero exit.
 */
import { join } from "node:path";
import { intFlag, providerFlag, shardFlag, UsageError, type Values } from "./args.ts";
import { suggest } from "../lib/schema.ts";
import {
  ARTIFACTS,
  assertWritable,
  configPathOf,
  copyToLatest,
  LATEST,
  loadPipeline,
  publish,
  refreshLatest,
  REPORTS,
  runIdFlag,
  runIdFor,
} from "./app.ts";
import { buildLock, LOCK_NAME, writeAtomic } from "../pipeline/lockfile.ts";
import type { PipelineSpec } from "../pipeline/plan.ts";
import { formatDuration } from "../pipeline/progress.ts";
import { RunLock } from "../pipeline/runlock.ts";
import { requestStop } from "../pipeline/shutdown.ts";
import {
  blockedSelected,
  type QuarantinedEntry,
  type RunOptions,
  runPipeline,
  type RunResult,
} from "../pipeline/runner.ts";
import { CorruptEntryError, quarantineCorrupt } from "../pipeline/checked_read.ts";
import { shardRunName } from "../pipeline/cluster.ts";
import { downstreamOf } from "../pipeline/dag.ts";
import {
  folderState,
  readRunRecord,
  renderKeyOf,
  RUN_RECORD,
  type RunRecord,
  runRecord,
  shardRuntimes,
} from "./run_record.ts";
import type { Config } from "../configs/schema.ts";
import { skippedImages } from "../stages/preprocess.ts";
import type { SkippedImages } from "../report/input.ts";
import { missingModelFiles, missingModelsError } from "../runtime/registry.ts";

/** A run whose store lock another run took over stops, keeping what it completed (exit 1). */
function lostLock(): number {
  console.error(
    "xcompare: the store lock was taken over while this run was stopped or cut off, so it " +
      "stopped after its units in flight and wrote no report; completed units are kept: rerun " +
      "to go on",
  );
  return 1;
}

export async function reproduceVerb(values: Values): Promise<number> {
  const configPath = configPathOf(values);
  const shard = shardFlag(values.shard);
  const runIdGiven = runIdFlag(values);
  const dryRun = Boolean(values["dry-run"]);
  const { spec, config, configHash, overrides } = await loadPipeline(configPath, {
    sets: values.set as string[],
    lenient: Boolean(values.lenient),
    requireProvider: providerFlag(values["require-provider"]),
  });
  // A mistyped stage in --only, --force or --from is a usage error, as in --set.
  const names = spec.stages.map((s) => s.name);
  for (const flag of ["only", "force", "from"] as const) {
    const given = values[flag];
    for (const s of given === undefined ? [] : Array.isArray(given) ? given : [given]) {
      if (!names.includes(s as string)) {
        throw new UsageError(`--${flag} ${s}: unknown stage${suggest(s as string, names)}`);
      }
    }
  }
  // --from X with --only Y where Y is upstream of X recomputes nothing that runs: a mistake.
  const only = (values.only as string[]) ?? [];
  if (values.from && only.length) {
    const recomputed = downstreamOf(spec.stages, values.from as string);
    if (!only.some((s) => recomputed.has(s))) {
      throw new UsageError(
        `--from ${values.from} recomputes ${[...recomputed].join(", ")}, none of which --only ` +
          `${only.join(", ")} runs`,
      );
    }
  }
  // Every absent required model is named now, with the config file, before anything runs.
  const missing = await missingModelFiles(config.models);
  if (missing.length) throw missingModelsError(missing, config.models, configPath);
  // A required provider that does not open stops the run here, before the store is touched.
  if (config.runtime.requireProvider) await spec.runtime();
  await assertWritable(ARTIFACTS, "store");
  if (!dryRun) await assertWritable(REPORTS, "reports");
  // A final cluster job (`--run-id R`) reuses what R's shards computed, whatever node they ran on.
  const reuseRuntimes = shard || !runIdGiven ? [] : await shardRuntimes(REPORTS, runIdGiven);
  if (reuseRuntimes.length) {
    console.error(
      `xcompare: reusing units that run ${runIdGiven}'s shards computed with ${
        reuseRuntimes.map((r) => `${r.provider} (onnxruntime ${r.ortVersion})`).join(", ")
      }`,
    );
  }
  const options: Partial<RunOptions> = {
    reuseRuntimes,
    only,
    force: (values.force as string[]) ?? [],
    from: values.from as string | undefined,
    dryRun,
    verify: Boolean(values.verify),
    jobs: values.jobs === undefined ? undefined : intFlag(values, "jobs", 1),
    shard,
  };
  // `--force report` (or `--from` a stage upstream of it) renders the report again even when the
  // folder holds it intact.
  const forced = new Set([
    ...options.force!,
    ...(options.from ? downstreamOf(spec.stages, options.from) : []),
  ]);
  const identify = async (result: RunResult) => {
    const lockFile = buildLock("", configPath, configHash, result.records);
    const runId = runIdGiven ?? runIdFor(configPath, { configHash, stages: lockFile.stages });
    lockFile.runId = runId;
    const runDir = join(REPORTS, shardRunName(runId, shard));
    const render = shard ? null : await renderKeyOf(result, runId);
    const folder = result.ok && render !== null && !forced.has("report")
      ? await folderState(runDir, lockFile, render)
      : null;
    const upToDate = folder?.state === "up to date";
    const damaged = folder?.state === "damaged" ? folder.why : undefined;
    return { lockFile, runId, runDir, render, upToDate, damaged };
  };
  if (!shard && !dryRun && !options.verify) {
    // Checked before taking the store lock, since a no-op must cost no more than `status`: when
    // every unit is in the store and the run's folder holds them rendered by this code, nothing is
    // written. That folder's lockfile names every unit, so a concurrent gc keeps them. (--verify
    // reads every file, so it checks once, under the lock.)
    const probe = await runPipeline(spec, { ...options, dryRun: true, log: () => {} });
    const id = await identify(probe);
    if (id.upToDate) return reportUpToDate(probe, id.runDir, id.runId);
  }
  const lock = await RunLock.acquire(
    ARTIFACTS,
    shard ? `run-shard-${shard.index}-of-${shard.count}` : "run",
    // A lost lock stops the run as SIGTERM does: the units in flight finish, none starts.
    { wait: !values["no-wait"], onLost: () => requestStop("SIGTERM") },
  );
  try {
    // A second run only when the report's own entry turns out corrupt as it is published.
    const movedByPublish: QuarantinedEntry[] = [];
    for (let attempt = 1;; attempt++) {
      const result = await runPipeline(spec, options);
      result.quarantined.unshift(...movedByPublish);
      if (lock.lost) return lostLock();
      // A signal stopped the run: the lock's signal handler exits once the lock is released.
      if (result.stopped) return result.stopped === "SIGINT" ? 130 : 143;
      if (dryRun) {
        console.log(dryRunTable(result));
        return 0;
      }
      const { lockFile, runId, runDir, render, upToDate, damaged } = await identify(result);
      if (upToDate) {
        if (options.verify) {
          const n = Object.keys((await readRunRecord(runDir))?.render?.files ?? {}).length;
          console.log(`verify: ${runDir}: the ${n} report files hash as they were rendered`);
        }
        return reportUpToDate(result, runDir, runId);
      }
      if (damaged) {
        console.error(`xcompare: ${runDir} is damaged (${damaged}); rendering the report again`);
      } else if (forced.has("report") && render) {
        console.error(`xcompare: report forced; rendering ${runDir} again`);
      }
      // Checked again before writing reports: the lock may have gone while the units finished.
      if (lock.lost) return lostLock();
      await Deno.mkdir(runDir, { recursive: true });
      await writeAtomic(join(runDir, LOCK_NAME), JSON.stringify(lockFile, null, 1));
      const record: RunRecord = {
        ...runRecord(runId, configPath, result, shard),
        configHash,
        overrides,
        created: lockFile.createdAt,
        integrity: integrityOf(result),
      };
      const label = overrides.length
        ? `${configPath} --set ${overrides.join(" --set ")}`
        : configPath;
      let files: Record<string, string> | null;
      try {
        files = render === null ? null : await publish(result, spec, runId, runDir, label);
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
      if (files !== null && render !== null) record.render = { ...render, files };
      const published = record.render !== undefined;
      await writeAtomic(join(runDir, RUN_RECORD), JSON.stringify(record, null, 1));
      // The whole folder, its run.json included, replaces reports/latest at once.
      if (published) await copyToLatest(runDir);
      console.log(summaryTable(result));
      for (const line of integrityLines(result)) console.log(line);
      for (const r of result.records.filter((r) => r.outcome === "failed")) {
        console.log(`FAILED ${r.stage}/${r.unit}: ${r.detail}`);
      }
      const blocked = blockedSelected(result.records, { only, shard });
      for (const r of blocked) {
        console.log(`NOT RUN ${r.stage}/${r.unit}: its input ${r.waitingOn} is not in the store`);
      }
      const skipped = await skippedInRun(result, spec);
      if (skipped.count > 0) console.log(skippedLines(skipped, published));
      console.log(
        published
          ? `report: ${runDir}/report.md (and report.html; copied to ${LATEST})`
          : `lockfile: ${runDir}/${LOCK_NAME}`,
      );
      if (values.strict && skipped.count > 0) {
        console.error(
          `xcompare: --strict: ${skipped.count} image${
            skipped.count === 1 ? " was" : "s were"
          } skipped; exit 1`,
        );
        return 1;
      }
      return result.ok && blocked.length === 0 ? 0 : 1;
    }
  } finally {
    await lock.release();
  }
}

/**
 * What a rerun that changed nothing prints: the folder that already holds its report, which
 * becomes reports/latest again if another run's report is there or latest's copy is damaged.
 */
async function reportUpToDate(result: RunResult, runDir: string, runId: string): Promise<number> {
  const units = result.summaries.reduce((a, s) => a + s.units, 0);
  const computed = result.summaries.reduce((a, s) => a + s.computed, 0);
  console.log(
    `${units - computed}/${units} units cached` +
      (computed ? `, ${computed} recomputed with the same output` : "") + "; report unchanged",
  );
  const files = (await readRunRecord(runDir))?.render?.files ?? {};
  const why = await refreshLatest(runDir, runId, files);
  console.log(
    `up to date: ${runDir}/report.md` +
      (why === null ? "" : ` (copied to ${LATEST}${why ? `: ${why}` : ""})`),
  );
  return 0;
}

/** The images this run's preprocess units skipped (those it holds: a shard, its own). */
function skippedInRun(result: RunResult, spec: PipelineSpec<Config>): Promise<SkippedImages> {
  const keys = new Map<string, string>();
  for (const r of result.records) {
    if (r.stage === "preprocess" && r.manifest) keys.set(r.unit, r.manifest.key);
  }
  return skippedImages(
    [...keys.keys()].map((unit) => ({ stage: "preprocess", unit })),
    (ref, file) =>
      Deno.readTextFile(join(spec.store.entryDir("preprocess", keys.get(ref.unit)!), file)),
  );
}

/** The skipped images' count and the first few, with where the full list is. */
function skippedLines(skipped: SkippedImages, published: boolean): string {
  const shown = skipped.images.slice(0, 5).map((s) => `  ${s.id}: ${s.reason}`);
  const more = skipped.count - shown.length;
  return [
    `skipped images: ${skipped.count}${
      published ? " (all listed in report.md and results.json)" : ""
    }`,
    ...shown,
    ...(more > 0 ? [`  and ${more} more`] : []),
  ].join("\n");
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
