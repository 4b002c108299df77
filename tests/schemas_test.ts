/**
 * The JSON Schemas under docs/schemas/ describe what xcompare writes: results.json (the committed
 * expectation of the embedded default, a real full run, and a freshly rendered fixture) and a
 * unit's manifest.json (units run by the engine). CITATION.cff is checked for the CFF 1.2.0 keys
 * citation tools need. Validated with ajv (draft-07).
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import { parse as parseYaml } from "yaml";
import { renderReport } from "../report/render.ts";
import { validateReportInput } from "../report/input.ts";
import { runPipeline } from "../pipeline/runner.ts";
import { Store } from "../pipeline/store.ts";
import { syntheticStages } from "./fixtures/synthetic_stages.ts";
import { explorerFixture } from "./fixtures/explorer_fixture.ts";
import { assert, assertEquals } from "./assert.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const readJson = async (rel: string) => JSON.parse(await Deno.readTextFile(join(ROOT, rel)));

/** A schema's check as a plain predicate (ajv's is a type guard that narrows parsed JSON). */
async function validator(rel: string): Promise<((v: unknown) => boolean) & ValidateFunction> {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  return ajv.compile(await readJson(rel)) as ((v: unknown) => boolean) & ValidateFunction;
}

function errorsOf(v: ValidateFunction): string {
  return (v.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
}

Deno.test("results.json: the committed expectation and a rendered report match the schema", async () => {
  const validate = await validator("docs/schemas/results.schema.json");
  const expected = (await readJson("reports/expected/default.json")).results;
  assert(validate(expected), `reports/expected/default.json: ${errorsOf(validate)}`);

  const input = validateReportInput(await readJson("tests/fixtures/report_input.json"));
  input.explorer = explorerFixture(input.provenance!.models.map((m) => m.id));
  input.warnings = [{ source: "kpca/all", message: "ill-conditioned" }];
  input.accuracy!.models[0].top1_ci = { lo: 0.6, hi: 0.8 };
  const out = await Deno.makeTempDir({ prefix: "xcompare-schema-" });
  try {
    await renderReport(input, out);
    const results = JSON.parse(await Deno.readTextFile(join(out, "results.json")));
    assert(validate(results), `rendered results.json: ${errorsOf(validate)}`);
    assertEquals("explorer" in results.input, false, "the explorer stays out of results.json");
    assertEquals(results.input.warnings, input.warnings);

    // The schema is not vacuous: wrong types and a wrong tag are caught, with their paths.
    const bad = structuredClone(results);
    bad.schema = "other/2";
    bad.input.table1[0].mse_count = { mean: 1 };
    bad.input.accuracy.models[0].top1 = 1.5;
    assert(!validate(bad), "a broken results.json passed");
    const msg = errorsOf(validate);
    for (const path of ["/schema", "/input/table1/0/mse_count", "/input/accuracy/models/0/top1"]) {
      assert(msg.includes(path), `no error at ${path}: ${msg}`);
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("manifest.json: every unit the engine writes matches the schema", async () => {
  const validate = await validator("docs/schemas/manifest.schema.json");
  const root = await Deno.makeTempDir({ prefix: "xcompare-schema-store-" });
  try {
    const result = await runPipeline({
      stages: syntheticStages,
      config: { items: ["a", "b"] },
      stageParams: () => undefined,
      store: new Store(root),
      runtime: () => Promise.resolve({ ortVersion: "test", provider: "cpu" as const }),
    }, { progress: { live: false, write: () => {} }, log: () => {} });
    assert(result.ok);
    const manifests = result.records.map((r) => r.manifest!);
    assertEquals(manifests.length, 6);
    for (const m of manifests) {
      const onDisk = JSON.parse(
        await Deno.readTextFile(join(root, m.stage, m.key, "manifest.json")),
      );
      assert(validate(onDisk), `${m.stage}/${m.unit}: ${errorsOf(validate)}`);
    }
    const bad = structuredClone(manifests[0]) as unknown as Record<string, unknown>;
    bad.outputHash = "not-a-hash";
    delete bad.files;
    assert(!validate(bad), "a broken manifest passed");
    assert(/\/outputHash/.test(errorsOf(validate)) && /files/.test(errorsOf(validate)));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("CITATION.cff has the CFF 1.2.0 keys and cites the paper", async () => {
  const cff = parseYaml(await Deno.readTextFile(join(ROOT, "CITATION.cff"))) as {
    license: string;
    references: { title: string; authors: { "family-names": string }[]; [k: string]: unknown }[];
  };
  // The subset of the CFF 1.2.0 schema that citation tools rely on.
  const person = {
    type: "object",
    properties: {
      "family-names": { type: "string", minLength: 1 },
      "given-names": { type: "string", minLength: 1 },
      name: { type: "string", minLength: 1 },
    },
    anyOf: [{ required: ["family-names"] }, { required: ["name"] }],
  };
  const reference = {
    type: "object",
    required: ["type", "title", "authors"],
    properties: {
      type: { enum: ["conference-paper", "article", "software", "generic"] },
      title: { type: "string", minLength: 1 },
      authors: { type: "array", minItems: 1, items: person },
      year: { type: "integer" },
      start: { type: "integer" },
      end: { type: "integer" },
      url: { type: "string", pattern: "^https://" },
      conference: { type: "object", required: ["name"] },
    },
  };
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile({
    type: "object",
    required: ["cff-version", "message", "title", "authors"],
    properties: {
      "cff-version": { type: "string", pattern: "^1\\.2\\.0$" },
      message: { type: "string", minLength: 1 },
      title: { type: "string", minLength: 1 },
      type: { enum: ["software", "dataset"] },
      license: { type: "string" },
      authors: { type: "array", minItems: 1, items: person },
      references: { type: "array", minItems: 1, items: reference },
    },
  });
  assert(validate(cff as unknown), `CITATION.cff: ${errorsOf(validate)}`);
  const paper = cff.references.find((r) => /Transformers and CNNs/.test(r.title));
  assert(paper, "the paper is among the references");
  assertEquals(paper.authors.map((a) => a["family-names"]), [
    "Jiang",
    "Khorram",
    "Li",
  ]);
  assertEquals([paper.year, paper.start, paper.end], [2024, 9546, 9555]);
  const licence = await Deno.readTextFile(join(ROOT, "LICENSE"));
  assert(licence.startsWith("MIT License") && cff.license === "MIT", "LICENSE and CFF agree");
});
