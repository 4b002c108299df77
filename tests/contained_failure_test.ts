/**
 * Clear, contained failure through the CLI, in a copy of the checkout under the xcompare task's
 * own permission flags: a bad --run-id and an unwritable reports folder stop a run before anything
 * is computed; labels problems are errors naming the line or file, or with --lenient skipped and
 * listed; skipped images reach report.md and results.json and --strict makes them exit 1; and no
 * message or output quotes a file that a labels row or a symlinked image leads to.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import {
  checkoutCanRun,
  computed,
  copyCheckout,
  tinyConfig,
  writeDataset,
  xcompare,
} from "./checkout_copy.ts";

const SECRET = "hunter2-do-not-print";

/** A checkout copy in a temporary folder, removed after `fn`. */
function inCheckout(fn: (checkout: string) => Promise<void>) {
  return async () => {
    const dir = await Deno.makeTempDir({ prefix: "xcompare-contained-" });
    try {
      const checkout = join(dir, "checkout");
      await copyCheckout(checkout);
      await fn(checkout);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes configs/<name>.json of the tiny config on data/<dataset>. */
async function config(checkout: string, dataset: string): Promise<string[]> {
  await Deno.writeTextFile(
    join(checkout, "configs", `${dataset}.json`),
    JSON.stringify(tinyConfig(dataset)),
  );
  return ["--config", `configs/${dataset}.json`];
}

const TASK = { allowWrite: "artifacts,reports" };

Deno.test({
  name: "a bad --run-id is refused before anything is read or written",
  ignore: !checkoutCanRun,
  fn: inCheckout(async (c) => {
    await writeDataset(c, "tiny", 4);
    const cfg = await config(c, "tiny");
    for (
      const [id, why] of [
        ["", "is empty"],
        [".", "must start with a letter or digit"],
        ["../artifacts/preprocess", "may hold only letters"],
        ["a/b", "may hold only letters"],
        ["run..1", "may not contain '..'"],
        ["latest", "reserved"],
        ["latest.123.abc.tmp", "reserved"],
        ["expected", "reserved for the committed expected results"],
      ]
    ) {
      for (
        const verb of id === "" || id === "a/b" ? ["reproduce", "slurm", "k8s"] : ["reproduce"]
      ) {
        const extra = verb === "reproduce" ? [] : ["--shards", "2"];
        const r = await xcompare(c, [verb, ...cfg, ...extra, "--run-id", id], TASK);
        assertEquals(r.code, 2, `${verb} --run-id "${id}": ${r.text}`);
        assert(r.text.includes(`--run-id ${JSON.stringify(id)}: `) && r.text.includes(why), r.text);
      }
    }
    assert(!(await exists(join(c, "artifacts"))), "nothing written to the store");
    assert(!(await exists(join(c, "reports"))), "nothing written to reports");
  }),
});

Deno.test({
  name: "an unwritable reports folder stops reproduce before any compute, naming the folder",
  ignore: !checkoutCanRun,
  fn: inCheckout(async (c) => {
    await writeDataset(c, "tiny", 4);
    const cfg = await config(c, "tiny");
    // Outside what the task may write (a shared reports folder it was not given).
    const elsewhere = join(c, "..", "shared-reports");
    let r = await xcompare(c, ["reproduce", ...cfg], {
      ...TASK,
      env: { XCOMPARE_REPORTS: elsewhere },
    });
    assertEquals(r.code, 1, r.text);
    assert(r.text.includes(`${elsewhere}: cannot write the reports folder`), r.text);
    assert(r.text.includes("nothing was computed"), r.text);
    assert(!(await exists(join(c, "artifacts", "preprocess"))), "no unit computed");
    // A file where the folder should be.
    await Deno.writeTextFile(join(c, "reports"), "");
    r = await xcompare(c, ["reproduce", ...cfg], TASK);
    assertEquals(r.code, 1, r.text);
    assert(
      r.text.includes("reports: cannot write the reports folder (a file is in the way)"),
      r.text,
    );
    assert(!(await exists(join(c, "artifacts", "preprocess"))), "no unit computed");
    await Deno.remove(join(c, "reports"));
    // A read-only folder (only where permissions bind: not for root).
    if (Deno.uid() !== 0) {
      await Deno.mkdir(join(c, "reports"), { mode: 0o555 });
      r = await xcompare(c, ["reproduce", ...cfg], TASK);
      assertEquals(r.code, 1, r.text);
      assert(
        r.text.includes("reports: cannot write the reports folder (permission denied)"),
        r.text,
      );
      assert(!(await exists(join(c, "artifacts", "preprocess"))), "no unit computed");
    }
  }),
});

Deno.test({
  name:
    "labels problems: errors naming the line or file; --lenient skips and lists; --strict exits 1",
  ignore: !checkoutCanRun,
  sanitizeResources: false,
  fn: inCheckout(async (c) => {
    const data = await writeDataset(c, "mixed", 4, [
      "0000_tshirt_top.png,0",
      "0001_trouser.png,1",
      "0002_pullover.png,12",
      "photo.png,0",
    ]);
    // 0003_ankle... has no row; photo.png is a symlink to a file of secrets.
    const secretFile = join(c, "..", "secret.txt");
    await Deno.writeTextFile(secretFile, `${SECRET}\tline one\n${SECRET} line two\n`);
    await Deno.symlink(secretFile, join(data, "photo.png"));
    const cfg = await config(c, "mixed");
    const labels = "data/mixed/labels.csv";

    // Strict (the default): the first problem, by line, and nothing computed.
    let r = await xcompare(c, ["reproduce", ...cfg], TASK);
    assertEquals(r.code, 1, r.text);
    assert(
      r.text.includes(`${labels}: line 4: label 12 is outside the 10 classes of model a`),
      r.text,
    );
    assert(!(await exists(join(c, "artifacts", "preprocess"))), "nothing computed");
    // A row naming a file outside the dataset folder is refused whatever the mode.
    const rows = await Deno.readTextFile(join(data, "labels.csv"));
    await Deno.writeTextFile(join(data, "labels.csv"), rows + "/etc/passwd,1\n");
    r = await xcompare(c, ["reproduce", ...cfg, "--lenient"], TASK);
    assertEquals(r.code, 1, r.text);
    assert(r.text.includes(`${labels}: line 6: file "/etc/passwd" is outside the dataset`), r.text);
    assert(!r.text.includes("root:"), r.text);
    await Deno.writeTextFile(join(data, "labels.csv"), rows);
    // The unknown class fixed, the missing row is next, named by file.
    await Deno.writeTextFile(join(data, "labels.csv"), rows.replace(",12\n", ",2\n"));
    r = await xcompare(c, ["reproduce", ...cfg], TASK);
    assertEquals(r.code, 1, r.text);
    assert(r.text.includes(`${labels}: no row for 1 image file`), r.text);
    assert(r.text.includes('"0003_dress.png"'), r.text);
    await Deno.writeTextFile(join(data, "labels.csv"), rows);

    // Lenient and strict: the run completes, lists the three skipped images, and exits 1.
    r = await xcompare(c, ["reproduce", ...cfg, "--lenient", "--strict", "--run-id", "r1"], TASK);
    assertEquals(r.code, 1, r.text);
    assert(r.text.includes("skipped images: 3 (all listed in report.md and results.json)"), r.text);
    assert(r.text.includes("--strict: 3 images were skipped; exit 1"), r.text);
    const results = JSON.parse(await Deno.readTextFile(join(c, "reports/r1/results.json")));
    assertEquals(results.input.skipped_images, {
      count: 3,
      images: [
        {
          id: "0002_pullover.png",
          reason: "labels.csv line 4: label 12 is outside the 10 classes of model a",
        },
        { id: "0003_dress.png", reason: "no row in labels.csv" },
        { id: "photo.png", reason: "not a decodable image: the file is text, not image data" },
      ],
    });
    assertEquals(results.input.accuracy.models[0].images, 2, "only the two usable images");
    assertEquals(results.input.provenance.config.dataset.lenient, true);
    const md = await Deno.readTextFile(join(c, "reports/r1/report.md"));
    assert(md.includes("3 images were skipped: they are in no number of this report."), md);
    assert(md.includes("photo.png | not a decodable image"), md);

    // Without --strict the same run exits 0 and reuses everything: strict is not in any key.
    r = await xcompare(c, ["reproduce", ...cfg, "--lenient", "--run-id", "r2"], TASK);
    assertEquals(r.code, 0, r.text);
    for (const s of ["preprocess", "infer-baselines", "report"]) {
      assertEquals(computed(r.text, s), 0);
    }

    // No output, message, report or store file quotes the secret file.
    assert(!r.text.includes(SECRET), r.text);
    for (const root of ["artifacts", "reports"]) {
      for await (const f of files(join(c, root))) {
        const bytes = await Deno.readFile(f);
        assert(!new TextDecoder().decode(bytes).includes(SECRET), `${f} quotes the secret`);
      }
    }
  }),
});

/** Every file under `dir`. */
async function* files(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* files(p);
    else if (e.isFile) yield p;
  }
}
