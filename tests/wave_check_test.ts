/**
 * `xcompare wave-check` as the cluster jobs run it (the `xcompare` task's permissions), on an
 * empty store: wave 1 follows nothing; a later wave or the final job exits 3, naming the tasks of
 * the earliest wave whose units are missing. tests/slurm_test.ts covers it on a real Slurm.
 */
import { taskFlags } from "./task_flags.ts";
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const LAYOUT = "preprocess:3;infer-baselines:2;mse-search,igos-heatmaps:3";

async function waveCheck(dir: string, wave: string) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...taskFlags(dir),
      "cli/main.ts",
      "wave-check",
      "--config",
      "tests/slurm/tiny.json",
      "--run-id",
      "r",
      "--waves",
      LAYOUT,
      "--wave",
      wave,
    ],
    cwd: ROOT,
    env: {
      XCOMPARE_ARTIFACTS: join(dir, "artifacts"),
      XCOMPARE_REPORTS: join(dir, "reports"),
      NO_COLOR: "1",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, text: new TextDecoder().decode(r.stderr) };
}

Deno.test("wave-check: exit 3 naming the earliest incomplete wave's tasks; wave 1 passes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-wave-check-" });
  try {
    const first = await waveCheck(dir, "1");
    assertEquals(first.code, 0, first.text);
    assert(first.text.includes("wave 1 follows no wave"), first.text);
    const third = await waveCheck(dir, "3");
    assertEquals(third.code, 3, third.text);
    assert(/wave 3 of run r cannot run: \d+ of \d+ unit\(s\) of wave\(s\) 1-2/.test(third.text));
    assert(third.text.includes("The earliest incomplete wave is wave 1"), third.text);
    assert(/ {2}wave 1 task \d of 3: \d+ unit\(s\) missing: preprocess\//.test(third.text));
    assert(/of the later wave\(s\) 2 are missing too/.test(third.text), third.text);
    assert(third.text.includes("deno task slurm --resume r --submit"), third.text);
    const final = await waveCheck(dir, "final");
    assertEquals(final.code, 3, final.text);
    const bad = await waveCheck(dir, "5");
    assertEquals(bad.code, 2, bad.text);
    assert(bad.text.includes('--wave: expected 1..4 or "final", got "5"'), bad.text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
