/**
 * configs/replication.json is the embedded default on more images, and its committed run
 * (reports/expected/replication.json) is consistent with it. The run itself is long (README, "The
 * mini-replication") and is not rerun here.
 */
import { Ajv, type ValidateFunction } from "ajv";
import { assert, assertEquals } from "../tests/assert.ts";
import { configSchema } from "./schema.ts";
import { stages } from "../stages/index.ts";
import { listFolderWithLabels } from "../runtime/datasets.ts";

const read = async (rel: string) =>
  JSON.parse(await Deno.readTextFile(new URL(`../${rel}`, import.meta.url)));
const raw = await read("configs/replication.json");
const base = await read("configs/default.json");

const stageParams = (c: ReturnType<typeof configSchema.parse>, name: string) =>
  stages.find((s) => s.name === name)!.params.parse(c.stages[name] ?? {}, name) as Record<
    string,
    unknown
  >;

Deno.test("configs/replication.json: valid, and the default with only its images raised", () => {
  const c = configSchema.parse(raw, "config");
  for (const s of stages) s.params.parse(c.stages[s.name] ?? {}, `config.stages.${s.name}`);
  const ds = listFolderWithLabels(c.dataset.dir, c.dataset.labels!);
  const d = configSchema.parse(base, "config");
  const mse = stageParams(c, "mse-search").images as number;
  assert(mse > (stageParams(d, "mse-search").images as number) && mse <= ds.items.length, "mse");
  for (const name of ["mse-search", "igos-heatmaps", "cross-test"]) {
    const [r, b] = [stageParams(c, name), stageParams(d, name)];
    assert((r.images as number) === 0 || (r.images as number) > (b.images as number), name);
    assertEquals({ ...r, images: 0 }, { ...b, images: 0 }, `${name}: only images differ`);
  }
  const rest = (x: Record<string, unknown>) => {
    const { name: _n, description: _d, stages: s, notes, ...more } = x;
    const { images: _why, ...otherNotes } = notes as Record<string, unknown>;
    const { "mse-search": _m, "igos-heatmaps": _i, "cross-test": _c, ...other } = s as Record<
      string,
      unknown
    >;
    return { ...more, stages: other, notes: otherNotes };
  };
  assertEquals(rest(raw), rest(base));
});

function errorsOf(v: ValidateFunction): string {
  return (v.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
}

Deno.test("reports/expected/replication.json: the schema, its config, every verdict with its n", async () => {
  const exp = await read("reports/expected/replication.json");
  assert(typeof exp.description === "string" && exp.tolerances, "description and tolerances");
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  const validate = ajv.compile(await read("docs/schemas/results.schema.json"));
  assert(validate(exp.results), `reports/expected/replication.json: ${errorsOf(validate)}`);
  const input = exp.results.input;
  assertEquals(input.provenance.config.name, "replication");
  const c = configSchema.parse(raw, "config");
  const mseImages = stageParams(c, "mse-search").images as number;
  const heatImages = stageParams(c, "igos-heatmaps").images as number;
  // Every model's images: the searched ones in the means plus those the baseline alone explains.
  assertEquals(input.table1.length, raw.models.length);
  for (const r of input.table1) {
    assertEquals(r.images + (r.baseline_suffices ?? 0), mseImages, r.model);
  }
  assertEquals(input.cross_matrix.per_image.image_ids.length, heatImages);
  // The same verdicts as the default's, each on the replication's images.
  const verdicts = exp.results.derived.verdicts as {
    id: string;
    source: string;
    outcome: string;
    n: { images: number; models: number };
  }[];
  const defaults = (await read("reports/expected/default.json")).results.derived.verdicts as {
    id: string;
  }[];
  assertEquals(verdicts.map((v) => v.id), defaults.map((v) => v.id));
  for (const v of verdicts) {
    assert(["replicates", "opposite", "no effect", "inconclusive"].includes(v.outcome), v.id);
    if (v.source === "cross-testing") assertEquals(v.n.images, heatImages, v.id);
    else assert(v.n.images > heatImages && v.n.images <= mseImages, `${v.id}: ${v.n.images}`);
  }
});
