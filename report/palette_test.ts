import { assert, assertEquals } from "../tests/assert.ts";
import { familyOrder, modelScales, modelStyles } from "./palette.ts";

const EXPECTED = new URL("../reports/expected/default.json", import.meta.url);

Deno.test("the default's 16 models get 16 distinct looks, listed family by family", async () => {
  const models = JSON.parse(await Deno.readTextFile(EXPECTED)).results.input.provenance.models as {
    id: string;
    group: string;
  }[];
  assertEquals(models.length, 16);
  const styles = modelStyles(models);
  assertEquals(styles.map((s) => s.id).sort(), models.map((m) => m.id).sort());
  // Colour and dash together tell every model apart; colours alone too, within a family.
  const looks = new Set(styles.map((s) => `${s.color} ${s.dash.join(",")}`));
  assertEquals(looks.size, 16);
  for (const f of familyOrder(models)) {
    const members = styles.filter((s) => s.family === f);
    assertEquals(new Set(members.map((s) => s.color)).size, members.length, `family ${f}`);
  }
  // cnn-bn and vit-bn, once the same blue, are now in different hues.
  const colour = (id: string) => styles.find((s) => s.id === id)!.color;
  assert(colour("cnn-bn") !== colour("vit-bn"));
  // Legend order: families in order of first appearance, never interleaved.
  const families = styles.map((s) => s.family);
  const runs = families.filter((f, i) => i === 0 || families[i - 1] !== f);
  assertEquals(runs, familyOrder(models));
  assertEquals(modelScales(styles).color.domain, styles.map((s) => s.id));
});

Deno.test("a model no provenance names still gets a style", () => {
  const styles = modelStyles([{ id: "a", group: "g" }], ["a", "b"]);
  assertEquals(styles.map((s) => [s.id, s.family]), [["a", "g"], ["b", "n/a"]]);
  assert(styles.every((s) => s.dash.length >= 2), "a dash is never empty (Vega-Lite needs a pair)");
});
