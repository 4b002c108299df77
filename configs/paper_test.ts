import { assert, assertEquals } from "../tests/assert.ts";
import { configSchema } from "./schema.ts";
import { stages } from "../stages/index.ts";

const raw = JSON.parse(await Deno.readTextFile(new URL("./paper.json", import.meta.url)));
const FACTS = new URL("../../shared/docs/paper-facts.json", import.meta.url);
let facts: {
  table1: string[][];
  table2: string[][];
  timm_identifiers_likely: Record<string, string>;
} | null = null;
try {
  facts = JSON.parse(await Deno.readTextFile(FACTS));
} catch { /* ../shared absent */ }

Deno.test("configs/paper.json validates with the config and every stage schema", () => {
  const c = configSchema.parse(raw, "config");
  for (const s of stages) s.params.parse(c.stages[s.name] ?? {}, `config.stages.${s.name}`);
  assertEquals(c.dataset.first, 5000);
  assertEquals(c.dataset.chunk, 50);
  assertEquals(c.runtime.providers, ["cuda", "cpu"]);
  assert(c.paperColumns);
  const ids = new Set(c.models.map((m) => m.id));
  for (const e of c.ensembles) for (const m of e.members) assert(ids.has(m), m);
  assertEquals(c.models.filter((m) => !m.optional).length, 13);
  for (const m of c.models) {
    assertEquals(m.onnx, `models/paper/${m.id}.onnx`);
    const p = m.preprocess;
    assertEquals(p.center_crop, 224);
    // resize = floor(size / crop_pct) for timm's crop_pct values 0.875, 0.9, 0.95.
    assert([256, 248, 235].includes(p.resize_short_side!), `${m.id}: ${p.resize_short_side}`);
    if (m.optional) assert(/own weights/.test(m.notes ?? ""), `${m.id}: notes`);
  }
});

Deno.test({
  name: "configs/paper.json names and groups match paper-facts.json",
  ignore: !facts,
  fn() {
    const c = configSchema.parse(raw, "config");
    const byName = new Map(c.models.map((m) => [m.name, m]));
    for (const [group, name] of facts!.table1) {
      const m = byName.get(name);
      assert(m && !m.optional, `Table 1 model ${name} missing`);
      assertEquals(m!.group, group);
      assertEquals(raw.notes.timm[m!.id], facts!.timm_identifiers_likely[name]);
    }
    for (const [, name] of facts!.table2) assert(byName.has(name), `Table 2 model ${name} missing`);
    // The design maps every Table 1 group to its models, and names Table 2's rows as the paper.
    const design = (raw.stages.report.design) as {
      table1: Record<string, string[]>;
      normAblations: { models: Record<string, string>; paper: Record<string, string> }[];
    };
    for (const [group, name] of facts!.table1) {
      assert(design.table1[group].includes(byName.get(name)!.id), `${name} in ${group}`);
    }
    const names = new Set([...facts!.table1, ...facts!.table2].map((r) => r[1]));
    for (const a of design.normAblations) {
      for (const [k, name] of Object.entries(a.paper)) {
        assert(names.has(name), name);
        assertEquals(c.models.find((m) => m.id === a.models[k])?.name, name);
      }
    }
    const ens = c.ensembles[0].members.map((id) => c.models.find((m) => m.id === id)!.name);
    assertEquals(ens.sort(), ["ConvNeXt-T", "ResNet50-C2", "Swin-T"]);
  },
});

Deno.test("configs/paper.json's class list ships in the repository: 1,000 ImageNet classes in order", async () => {
  const c = configSchema.parse(raw, "config");
  assertEquals(c.dataset.classes, "data/imagenet-classes.tsv");
  const text = await Deno.readTextFile(new URL("../data/imagenet-classes.tsv", import.meta.url));
  const rows = text.trim().split("\n").slice(1).map((l) => l.split("\t"));
  assertEquals(rows.length, 1000);
  rows.forEach((r, i) => assertEquals(Number(r[0]), i));
  assertEquals(rows[0].slice(1), ["n01440764", "tench"]);
  // The copy is the shared folder's list, where that folder is here.
  const shared = await Deno.readTextFile(
    new URL("../../shared/data/imagenet-classes.tsv", import.meta.url),
  ).catch(() => null);
  if (shared !== null) assertEquals(text, shared);
});
