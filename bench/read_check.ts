/**
 * What checked reads cost (pipeline/checked_read.ts): the default config from an empty store,
 * timing the hashing of every input byte read against the run's wall time (target: < 5%), then
 * `--verify` over the full store it left (every entry re-hashed, all units reused). Prints JSON.
 *   deno run -A bench/read_check.ts [--config configs/default.json]
 */
import { parseArgs } from "node:util";
import { DEFAULT_CONFIG, loadPipeline } from "../cli/app.ts";
import { runPipeline } from "../pipeline/runner.ts";
import { Store } from "../pipeline/store.ts";

const { values } = parseArgs({ options: { config: { type: "string", default: DEFAULT_CONFIG } } });
const quiet = { progress: { live: false, write: () => {} }, log: () => {} };
const { spec } = await loadPipeline(values.config!);
const dir = await Deno.makeTempDir({ prefix: "xcompare-read-check-" });
try {
  spec.store = new Store(dir);
  const t0 = performance.now();
  const run = await runPipeline(spec, quiet);
  const wall = (performance.now() - t0) / 1000;
  if (!run.ok) throw new Error("the run failed");
  const t1 = performance.now();
  const verify = await runPipeline(spec, { ...quiet, verify: true });
  const verifyWall = (performance.now() - t1) / 1000;
  const c = run.readChecks, v = verify.verified!;
  const mib = (b: number) => +(b / 2 ** 20).toFixed(2);
  console.log(JSON.stringify(
    {
      config: values.config,
      units: run.records.length,
      wallSeconds: +wall.toFixed(1),
      readChecks: {
        files: c.files,
        mib: mib(c.bytes),
        hashSeconds: +c.seconds.toFixed(3),
        shareOfWall: +(c.seconds / wall).toFixed(5),
        mibPerSecond: +(c.bytes / 2 ** 20 / c.seconds).toFixed(0),
      },
      verify: {
        entries: v.entries,
        files: v.files,
        mib: mib(v.bytes),
        hashSeconds: +v.seconds.toFixed(2),
        wallSeconds: +verifyWall.toFixed(2),
        reused: verify.summaries.reduce((n, s) => n + s.reused, 0),
      },
    },
    null,
    1,
  ));
} finally {
  await Deno.remove(dir, { recursive: true });
}
