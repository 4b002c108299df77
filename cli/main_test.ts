import { assertEquals } from "../tests/assert.ts";
import { namingConfigFile } from "./main.ts";

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

Deno.test("a mistyped stage in --only, --force or --from is a usage error (exit 2), before any work", async () => {
  const { main } = await import("./main.ts");
  const errors: string[] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => errors.push(a.join(" "));
  try {
    for (const flag of ["--only", "--force", "--from"]) {
      const config = new URL("../configs/default.json", import.meta.url).pathname;
      assertEquals(await main(["reproduce", "-c", config, flag, "mse-serch", "--dry-run"]), 2);
    }
  } finally {
    console.error = original;
  }
  assertEquals(errors[0], '--only mse-serch: unknown stage, did you mean "mse-search"?');
});

Deno.test("--from a stage that --only leaves out is a usage error", async () => {
  const { main } = await import("./main.ts");
  const errors: string[] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => errors.push(a.join(" "));
  try {
    const config = new URL("../configs/default.json", import.meta.url).pathname;
    const args = ["reproduce", "-c", config, "--from", "report", "--only", "kpca", "--dry-run"];
    assertEquals(await main(args), 2);
  } finally {
    console.error = original;
  }
  assertEquals(errors[0], "--from report recomputes report, none of which --only kpca runs");
});

Deno.test("a missing dataset folder is named with the config file and key", async () => {
  const { main } = await import("./main.ts");
  const root = new URL("..", import.meta.url).pathname;
  const config = JSON.parse(await Deno.readTextFile(`${root}configs/default.json`));
  config.dataset.dir = "no-such-images";
  const file = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(file, JSON.stringify(config));
  const errors: string[] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => errors.push(a.join(" "));
  try {
    assertEquals(await main(["reproduce", "-c", file, "--dry-run"]), 1);
  } finally {
    console.error = original;
    await Deno.remove(file);
  }
  assertEquals(
    errors.at(-1),
    `xcompare: ${file}: config.dataset: no-such-images: the images folder does not exist`,
  );
});
