/**
 * `xcompare diff A [B] [--set ...] [--json | --md]`: what changed between two runs. A and B are run
 * ids, run folders (or their results.json), or configs that have run (their newest run with the
 * same overrides); `--set` applies to B, which defaults to A, so `diff CONFIG --set p=v` compares a
 * config's run with its variant's. The comparison itself is report/diff.ts.
 */
import { basename, join } from "node:path";
import { UsageError, type Values } from "./args.ts";
import { loadPipeline, REPORTS } from "./app.ts";
import { diffRuns, formatDiffMarkdown, formatDiffText, type Side } from "../report/diff.ts";
import { scanLocks } from "../pipeline/lockfile.ts";

export async function diffVerb(values: Values, args: string[]): Promise<number> {
  if (args.length < 1) {
    throw new UsageError("xcompare diff: name two runs (or configs that have run): diff A B");
  }
  if (values.json && values.md) throw new UsageError("xcompare diff: --json or --md, not both");
  const sets = (values.set as string[] | undefined) ?? [];
  if (args.length === 1 && !sets.length) {
    throw new UsageError(
      `xcompare diff: one argument compares ${args[0]} with itself; name B or --set`,
    );
  }
  const a = await resolveSide(args[0], []);
  const b = await resolveSide(args[1] ?? args[0], sets);
  const d = diffRuns(a, b);
  console.log(
    values.json
      ? JSON.stringify(d, null, 1)
      : values.md
      ? formatDiffMarkdown(d)
      : formatDiffText(d),
  );
  return 0;
}

const isFile = (p: string) => Deno.stat(p).then((s) => s.isFile, () => false);
const isDir = (p: string) => Deno.stat(p).then((s) => s.isDirectory, () => false);

/** A run id, run folder, results.json or config (with overrides) as the results it names. */
async function resolveSide(arg: string, sets: string[]): Promise<Side> {
  const isConfig = arg.endsWith(".json") && basename(arg) !== "results.json" && await isFile(arg);
  if (sets.length && !isConfig) {
    throw new UsageError(`xcompare diff: --set applies to a config, and "${arg}" is not one`);
  }
  if (isConfig) return await newestRunOf(arg, sets);
  for (const dir of [join(REPORTS, arg), arg]) {
    if (await isDir(dir) && await isFile(join(dir, "results.json"))) {
      return { id: basename(dir), results: await readResults(join(dir, "results.json")) };
    }
  }
  if (basename(arg) === "results.json" && await isFile(arg)) {
    return { id: arg, results: await readResults(arg) };
  }
  throw new Error(
    `${arg}: not a run under ${REPORTS}/ (with a results.json), a run folder or a config file`,
  );
}

/** The newest rendered run of a config with the same overrides (the lockfiles' config hash). */
async function newestRunOf(configPath: string, sets: string[]): Promise<Side> {
  const { configHash } = await loadPipeline(configPath, { sets });
  const { runs } = await scanLocks(REPORTS);
  for (const r of runs) {
    if (r.name === "latest" || r.lock.config !== configPath || r.lock.configHash !== configHash) {
      continue;
    }
    if (await isFile(join(r.dir, "results.json"))) {
      return { id: r.name, results: await readResults(join(r.dir, "results.json")) };
    }
  }
  const flags = sets.map((s) => ` --set ${s}`).join("");
  throw new Error(
    `${configPath}${flags ? ` (with${flags})` : ""} has no rendered run under ${REPORTS}/; ` +
      `run \`xcompare reproduce --config ${configPath}${flags}\` first`,
  );
}

async function readResults(path: string): Promise<Side["results"]> {
  let v: unknown;
  try {
    v = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    const why = e instanceof SyntaxError
      ? "not valid JSON"
      : e instanceof Deno.errors.NotFound
      ? "no such file"
      : (e as Error).name;
    throw new Error(`${path}: cannot read results (${why})`);
  }
  const input = (v as { input?: unknown }).input;
  if (typeof input !== "object" || input === null) {
    throw new Error(`${path}: not a results.json (no "input" section)`);
  }
  return v as Side["results"];
}
