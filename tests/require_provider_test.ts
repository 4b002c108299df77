/**
 * `--require-provider` and `runtime.requireProvider`: where the provider does not open, reproduce
 * stops at once, under the xcompare task's own permissions, before the store is touched.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { probeProvider } from "../runtime/probe.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const cudaOpens = (await probeProvider("cuda")).opens;

async function xcompare(args: string[], env: Record<string, string>) {
  const task: string = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks.xcompare;
  const r = await new Deno.Command(Deno.execPath(), {
    args: [...task.split(" ").slice(1), ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
}

Deno.test({
  name:
    "a required provider that does not open stops reproduce at once, from the flag or the config",
  ignore: cudaOpens,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "xcompare-require-" });
    try {
      const env = { XCOMPARE_ARTIFACTS: join(dir, "artifacts"), XCOMPARE_REPORTS: join(dir, "r") };
      const flag = await xcompare(
        ["reproduce", "--config", "tests/slurm/tiny.json", "--require-provider", "cuda"],
        env,
      );
      assertEquals(flag.code, 1, flag.stderr);
      assert(
        /execution provider cuda is required .* does not open on it: .*deno task doctor/.test(
          flag.stderr,
        ),
        flag.stderr,
      );
      const config = JSON.parse(await Deno.readTextFile(join(ROOT, "tests/slurm/tiny.json")));
      config.runtime.requireProvider = "cuda";
      await Deno.writeTextFile(join(dir, "cuda.json"), JSON.stringify(config));
      const fromConfig = await xcompare(["reproduce", "--config", join(dir, "cuda.json")], env);
      assertEquals(fromConfig.code, 1, fromConfig.stderr);
      assert(/execution provider cuda is required/.test(fromConfig.stderr), fromConfig.stderr);
      // Nothing ran: no store, no lock, no report.
      assertEquals((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), ["cuda.json"]);
      const bad = await xcompare(["reproduce", "--require-provider", "gpu"], env);
      assertEquals(bad.code, 2);
      assert(/expected one of cuda, tensorrt, cpu, got "gpu"/.test(bad.stderr), bad.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
