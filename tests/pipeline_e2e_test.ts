/**
 * The whole DAG through the CLI on a tiny config (a zoo model under two ids, a few sample
 * images), in a temporary store: it completes, a rerun says "up to date" and writes nothing, a new
 * model computes only its units, `--set` changes a param (status says why, run.json records it),
 * `diff` compares the variant, `dag` counts fresh units, `gc --reports` prunes old runs.
 */
import { taskFlags } from "./task_flags.ts";
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";

const model = "zoo/models/cnn-bn.onnx";
const present = (() => {
  try {
    Deno.statSync(model);
    return true;
  } catch {
    return false;
  }
})();

function config(ids: string[], beamWidth = 2) {
  return {
    name: "e2e",
    dataset: {
      kind: "folder",
      dir: "data/fashion-sample",
      labels: "data/fashion-sample/labels.csv",
      first: 4,
      chunk: 2,
    },
    models: ids.map((id) => ({ id, onnx: model, group: id === "a" ? "older-cnn" : "transformer" })),
    runtime: { batchSize: 64 },
    stages: {
      "mse-search": { images: 2, candidates: "all", beamWidth },
      "igos-heatmaps": { images: 2, method: "occlusion" },
      "cross-test": { images: 2 },
      report: { bootstrap: 200 },
    },
  };
}

async function cli(dir: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...taskFlags(dir),
      "cli/main.ts",
      ...args,
    ],
    env: {
      XCOMPARE_ARTIFACTS: join(dir, "artifacts"),
      XCOMPARE_REPORTS: join(dir, "reports"),
      NO_COLOR: "1",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  return { code: out.code, text: stdout + new TextDecoder().decode(out.stderr), stdout };
}

function computed(text: string, stage: string): number {
  const m = new RegExp(`^\\s+${stage}\\s+computed\\s+(\\d+)\\s+reused\\s+(\\d+)`, "m").exec(text);
  if (!m) throw new Error(`no summary line for ${stage} in:\n${text}`);
  return Number(m[1]);
}

Deno.test({
  name: "end to end: reproduce, an up-to-date rerun, a new model, --set, diff, dag, gc --reports",
  ignore: !present,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "xcompare-e2e-" });
    const cfg = join(dir, "e2e.json");
    await Deno.writeTextFile(cfg, JSON.stringify(config(["a"])));
    const first = await cli(dir, ["reproduce", "--config", cfg]);
    assertEquals(first.code, 0, first.text);
    const results = JSON.parse(
      await Deno.readTextFile(join(dir, "reports", "latest", "results.json")),
    );
    assertEquals(results.input.table1.map((r: { model: string }) => r.model), ["a"]);
    assert(results.input.table1[0].mse_count.mean > 0, "MSEs found");
    for (
      const f of ["report.md", "report.html", "xcompare.lock.json", "figures/fig6-landscape.svg"]
    ) {
      await Deno.stat(join(dir, "reports", "latest", f));
    }
    // Every stage's part of the explorer reaches report.html, for the images the stages covered.
    const html = await Deno.readTextFile(join(dir, "reports", "latest", "report.html"));
    const data = JSON.parse(
      /<script type="application\/json" id="xc-explorer-data">(.*?)<\/script>/s.exec(html)![1],
    ).explorer;
    assertEquals(data.images.length, 4, "the explorer shows the 4 preprocessed images");
    const covered = data.images.slice(0, 2).map((im: { id: string }) => im.id);
    for (const part of ["predictions", "mse", "heatmaps", "cross"]) {
      const byImage = part === "predictions" ? data[part].a : data[part].entries.a;
      assert(covered.every((id: string) => id in byImage), `explorer ${part} lacks an image`);
    }
    assertEquals(data.cross.entries.a[covered[0]].tested, ["a"]);
    assert("warnings" in results.input, "results.json lists the run's warnings");

    // Nothing changed: "up to date" with the run's folder, and nothing written.
    const runIdRe = /reports\/(e2e-[0-9a-f]{8})\/report\.md/;
    const firstId = runIdRe.exec(first.text)?.[1];
    assert(firstId, `run id from the config file name and a hash: ${first.text}`);
    const listing = async () => {
      const out: string[] = [];
      for await (const e of Deno.readDir(join(dir, "reports"))) {
        const st = await Deno.stat(join(dir, "reports", e.name, "report.md")).catch(() => null);
        out.push(`${e.name} ${st?.mtime?.getTime()}`);
      }
      return out.sort();
    };
    const before = await listing();
    const again = await cli(dir, ["reproduce", "--config", cfg]);
    assertEquals(again.code, 0, again.text);
    assert(
      again.text.includes(`up to date: ${join(dir, "reports", firstId)}/report.md`),
      again.text,
    );
    assertEquals(await listing(), before, "an up-to-date rerun writes no folder and no report");

    // A damaged folder is rendered again and the log says why; so is one --verify finds damaged,
    // and one --force report names. Two up-to-date reruns at once both mend latest's copy.
    const firstDir = join(dir, "reports", firstId);
    await Deno.truncate(join(firstDir, "results.json"), 10);
    const mended = await cli(dir, ["reproduce", "--config", cfg]);
    assertEquals(mended.code, 0, mended.text);
    assert(
      mended.text.includes(
        `${firstDir} is damaged (results.json changed since it was rendered); rendering the report`,
      ),
      mended.text,
    );
    JSON.parse(await Deno.readTextFile(join(firstDir, "results.json")));
    JSON.parse(await Deno.readTextFile(join(dir, "reports", "latest", "results.json")));
    await Deno.writeTextFile(join(firstDir, "report.md"), "edited");
    const verified = await cli(dir, ["reproduce", "--config", cfg, "--verify"]);
    assertEquals(verified.code, 0, verified.text);
    assert(verified.text.includes("(report.md changed since it was rendered)"), verified.text);
    const intact = await cli(dir, ["reproduce", "--config", cfg, "--verify"]);
    assert(/verify: .+: the \d+ report files hash as they were rendered/.test(intact.text));
    assert(intact.text.includes("up to date:"), intact.text);
    const forced = await cli(dir, ["reproduce", "--config", cfg, "--force", "report"]);
    assertEquals(forced.code, 0, forced.text);
    assert(forced.text.includes(`report forced; rendering ${firstDir} again`), forced.text);
    const figure = join(dir, "reports", "latest", "figures", "fig6-landscape.svg");
    await Deno.remove(figure);
    const pair = await Promise.all([1, 2].map(() => cli(dir, ["reproduce", "--config", cfg])));
    for (const p of pair) assert(p.code === 0 && p.text.includes("up to date:"), p.text);
    assert(pair.some((p) => p.text.includes("figures/fig6-landscape.svg is missing")));
    await Deno.stat(figure);
    // latest's run.json is a copy, not a render: checked against the run's own.
    await Deno.remove(join(dir, "reports", "latest", "run.json"));
    const recopied = await cli(dir, ["reproduce", "--config", cfg]);
    assert(recopied.text.includes("run.json is missing"), recopied.text);
    await Deno.stat(join(dir, "reports", "latest", "run.json"));
    assertEquals((await listing()).map((l) => l.split(" ")[0]), [firstId, "latest"].sort());

    await Deno.writeTextFile(cfg, JSON.stringify(config(["a", "b"])));
    const added = await cli(dir, ["reproduce", "--config", cfg]);
    assertEquals(added.code, 0, added.text);
    assertEquals(computed(added.text, "preprocess"), 0, "same preprocessing: tensors shared");
    assertEquals(computed(added.text, "infer-baselines"), 1);
    assertEquals(computed(added.text, "mse-search"), 1, "only b's chunk");
    assertEquals(computed(added.text, "cross-test"), 3, "b's row and column: (a,b), (b,a), (b,b)");

    const addedId = runIdRe.exec(added.text)?.[1];
    assert(addedId && addedId !== firstId, added.text);

    // --set: status says what it changes, reproduce records it, diff compares the variant.
    const set = ["--set", "mse-search.beamWidth=3"];
    const st = await cli(dir, ["status", "--config", cfg, ...set]);
    assertEquals(st.code, 0, st.text);
    assert(/preprocess: fresh/.test(st.text), st.text);
    assert(/mse-search: STALE \(0\/2 units fresh\)/.test(st.text), st.text);
    assert(/param search\.beamWidth changed: 2 → 3/.test(st.text), st.text);
    assert(/igos-heatmaps: fresh/.test(st.text), st.text);
    const bad = await cli(dir, ["status", "--config", cfg, "--set", "mse-search.beamWidht=3"]);
    assertEquals(bad.code, 2); // a usage error, like any command-line mistake
    assert(bad.text.includes(`--set mse-search.beamWidht: unknown key, did you mean "beamWidth"?`));
    const variant = await cli(dir, ["reproduce", "--config", cfg, ...set]);
    assertEquals(variant.code, 0, variant.text);
    assertEquals(computed(variant.text, "mse-search"), 2);
    assertEquals(computed(variant.text, "igos-heatmaps"), 0);
    const variantId = runIdRe.exec(variant.text)?.[1];
    assert(variantId && variantId !== addedId, variant.text);
    const run = JSON.parse(await Deno.readTextFile(join(dir, "reports", variantId, "run.json")));
    assertEquals(run.overrides, ["mse-search.beamWidth=3"]);
    const md = await Deno.readTextFile(join(dir, "reports", variantId, "report.md"));
    assert(md.includes(`${cfg} --set mse-search.beamWidth=3`), "the report's config row");

    const diff = await cli(dir, ["diff", cfg, ...set, "--json"]);
    assertEquals(diff.code, 0, diff.text);
    const d = JSON.parse(diff.stdout);
    assertEquals([d.a, d.b], [addedId, variantId]);
    assertEquals(d.params, [{ path: "stages.mse-search.beamWidth", a: 2, b: 3 }]);
    assert(d.numbers.some((n: { table: string }) => n.table === "table1"), "Table 1 compared");
    const text = await cli(dir, ["diff", addedId, variantId]);
    assert(text.text.includes("stages.mse-search.beamWidth: 2 → 3"), text.text);

    const dag = await cli(dir, ["dag", "--config", cfg, ...set, "--mermaid"]);
    assertEquals(dag.code, 0, dag.text);
    assert(dag.text.includes("mse_search --> subtree_count"), dag.text);
    assert(dag.text.includes('mse_search["mse-search<br/>2/2 fresh"]'), dag.text);

    // gc --reports 1 keeps the variant (the newest, which latest copies) and drops the others.
    const gc = await cli(dir, ["gc", "--reports", "1"]);
    assertEquals(gc.code, 0, gc.text);
    assert(gc.text.includes("removed 2 run folders"), gc.text);
    assertEquals(
      (await listing()).map((l) => l.split(" ")[0]),
      [variantId, "latest"].sort(),
    );

    // A config file edit: status names the param against the newest run of that file.
    await Deno.writeTextFile(cfg, JSON.stringify(config(["a", "b"], 4)));
    const edited = await cli(dir, ["status", "--config", cfg]);
    assert(/param search\.beamWidth changed: 3 → 4/.test(edited.text), edited.text);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test("a config error names the file, the path and the nearest key", async () => {
  const dir = await Deno.makeTempDir();
  const cfg = join(dir, "bad.json");
  const c = config(["a"]) as Record<string, unknown>;
  (c.stages as Record<string, unknown>)["mse-search"] = { beamWidht: 3 };
  await Deno.writeTextFile(cfg, JSON.stringify(c));
  const r = await cli(dir, ["reproduce", "--config", cfg]);
  assertEquals(r.code, 1);
  assert(
    r.text.includes(
      `${cfg}: config.stages.mse-search.beamWidht: unknown key, did you mean "beamWidth"?`,
    ),
    r.text,
  );
  // A design naming a model the config lacks stops status before anything runs.
  const ok = join(dir, "ok.json");
  await Deno.writeTextFile(ok, JSON.stringify(config(["a"])));
  const d = await cli(dir, [
    "status",
    "--config",
    ok,
    "--set",
    'report.design.table1.ConvNeXt=["nope"]',
  ]);
  assertEquals(d.code, 1, d.text);
  assert(
    d.text.includes(
      `${ok}: config.stages.report.design.table1.ConvNeXt[0]: "nope" is not a model of config`,
    ),
    d.text,
  );
});
