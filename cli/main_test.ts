import { assert, assertEquals } from "../tests/assert.ts";
import { main, namingConfigFile } from "./main.ts";

Deno.test("errors that name a config key also name the config file", () => {
  assertEquals(
    namingConfigFile("config.models[0] (cnn-bn): preprocess.mean: expected 1", "x.json"),
    "x.json: config.models[0] (cnn-bn): preprocess.mean: expected 1",
  );
  assertEquals(
    namingConfigFile("config: 2 of 3 required model files not found"),
    "configs/default.json: 2 of 3 required model files not found",
  );
  // A message that already names its file, or none, is left alone.
  assertEquals(
    namingConfigFile("x.json: config.stages.y: unknown stage", "x.json"),
    "x.json: config.stages.y: unknown stage",
  );
  assertEquals(
    namingConfigFile("labels.tsv line 2: unknown class"),
    "labels.tsv line 2: unknown class",
  );
});

const DEFAULT = new URL("../configs/default.json", import.meta.url).pathname;

/** `main(args)`'s exit code and what it printed to stderr. */
async function run(args: string[]): Promise<{ code: number; errors: string[] }> {
  const errors: string[] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => errors.push(a.join(" "));
  try {
    return { code: await main(args), errors };
  } finally {
    console.error = original;
  }
}

Deno.test("a mistyped stage in --only, --force or --from is a usage error (exit 2), before any work", async () => {
  for (const flag of ["--only", "--force", "--from"]) {
    const r = await run(["reproduce", "-c", DEFAULT, flag, "mse-serch", "--dry-run"]);
    assertEquals(r.code, 2);
    assertEquals(r.errors[0], `${flag} mse-serch: unknown stage, did you mean "mse-search"?`);
  }
});

Deno.test("--from a stage that --only leaves out is a usage error", async () => {
  const r = await run([
    "reproduce",
    "-c",
    DEFAULT,
    "--from",
    "report",
    "--only",
    "kpca",
    "--dry-run",
  ]);
  assertEquals(r.code, 2);
  assertEquals(r.errors[0], "--from report recomputes report, none of which --only kpca runs");
});

Deno.test("a missing dataset folder is named with the config file and key", async () => {
  const config = JSON.parse(await Deno.readTextFile(DEFAULT));
  config.dataset.dir = "no-such-images";
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(file, JSON.stringify(config));
    const r = await run(["reproduce", "-c", file, "--dry-run"]);
    assertEquals(r.code, 1);
    assertEquals(
      r.errors.at(-1),
      `xcompare: ${file}: config.dataset: no-such-images: the images folder does not exist`,
    );
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("slurm refuses a store its jobs' task could not write, saying how to share one", async () => {
  const root = new URL("..", import.meta.url).pathname;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/main.ts", "slurm", "-c", "tests/slurm/tiny.json", "--shards", "2"],
    cwd: root,
    env: { XCOMPARE_ARTIFACTS: "/scratch/shared-store" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(r.code, 2);
  const err = new TextDecoder().decode(r.stderr);
  assert(
    err.includes(
      "XCOMPARE_ARTIFACTS=/scratch/shared-store: the jobs' `deno task xcompare` may " +
        "write only this checkout's artifacts/; link the shared folder there instead",
    ),
    err,
  );
});
