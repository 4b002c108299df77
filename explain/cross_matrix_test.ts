import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../tests/assert.ts";
import { crossMatrix, type CrossRecord, groupMatrix } from "./cross_matrix.ts";
import { insertionCurves } from "./insertion.ts";
import type { Scorer, ScoreRequest } from "./scorer.ts";

/** p = 0.1 + Σ_i mask_i · v_i, so t = p(all revealed) = 0.1 + Σv and b = p(nothing) = 0.1. */
class CellModel implements Scorer {
  constructor(readonly v: number[]) {}
  score(requests: readonly ScoreRequest[]): Promise<Float32Array> {
    return Promise.resolve(
      Float32Array.from(requests, (r) => 0.1 + r.mask.reduce((s, m, i) => s + m * this.v[i], 0)),
    );
  }
}

Deno.test("cross-testing two toy models gives the hand-computed, asymmetric S", async () => {
  const v = { A: [0.4, 0.2, 0.1, 0.1], B: [0.1, 0.1, 0.2, 0.4] };
  const models = { A: new CellModel(v.A), B: new CellModel(v.B) };
  const calibration = { A: { top: 0.9, blurred: 0.1 }, B: { top: 0.9, blurred: 0.1 } };
  const records: CrossRecord[] = [];
  for (const source of ["A", "B"] as const) {
    // Each model's heatmap is its own cell weights: the ideal explanation of itself.
    const heatmap = Float32Array.from(v[source]);
    for (const tested of ["A", "B"] as const) {
      const [c] = await insertionCurves([{ image: 0, cls: 0, heatmap }], models[tested], {
        cellsPerStep: 1,
      });
      records.push({
        source,
        tested,
        image: 0,
        insertionAuc: c.insertionAuc,
        deletionAuc: c.deletionAuc,
      });
    }
  }
  const m = crossMatrix(records, calibration);
  assertEquals(m.models, ["A", "B"]);
  // Normalised curves are the revealed share of Σv: A on A: 0, .5, .75, .875, 1 → 0.65625.
  // A's heatmap on B: 0, .125, .25, .5, 1 → 0.34375. B's on A (order 3, 2, 0, 1):
  // 0, .125, .25, .75, 1 → 0.40625. B on B mirrors A on A → 0.65625.
  assertAlmostEquals(m.insertion[0][0], 0.65625, 1e-6);
  assertAlmostEquals(m.insertion[0][1], 0.34375, 1e-6);
  assertAlmostEquals(m.insertion[1][0], 0.40625, 1e-6);
  assertAlmostEquals(m.insertion[1][1], 0.65625, 1e-6);
  // Deletion mirrors insertion here: 1 − the insertion share.
  assertAlmostEquals(m.deletion![0][0], 1 - 0.65625, 1e-6);
  assertEquals(m.counts, [[1, 1], [1, 1]]);
});

Deno.test("means over images, and errors for missing pairs, duplicates and calibration", () => {
  const cal = { X: { top: 1, blurred: 0 }, Y: { top: 0.5, blurred: 0.1 } };
  const recs: CrossRecord[] = [
    { source: "X", tested: "Y", image: 1, insertionAuc: 0.3 },
    { source: "X", tested: "Y", image: 2, insertionAuc: 0.5 },
  ];
  const m = crossMatrix(recs, cal, { allowMissing: true });
  assertAlmostEquals(m.insertion[0][1], ((0.3 - 0.1) / 0.4 + (0.5 - 0.1) / 0.4) / 2, 1e-12);
  assert(Number.isNaN(m.insertion[1][0]));
  assertEquals(m.deletion, null);
  // The per-image values behind the means, NaN where a pair lacks the image.
  assertEquals(m.perImage.images, [1, 2]);
  assertAlmostEquals(m.perImage.insertion[0][1][0], (0.3 - 0.1) / 0.4, 1e-12);
  assertAlmostEquals(m.perImage.insertion[0][1][1], (0.5 - 0.1) / 0.4, 1e-12);
  assert(m.perImage.insertion[1][0].every(Number.isNaN));
  assertThrows(() => crossMatrix(recs, cal), /no records for heatmaps of X on X/);
  assertThrows(() => crossMatrix([...recs, recs[0]], cal, { allowMissing: true }), /duplicate/);
  assertThrows(() => crossMatrix(recs, { X: cal.X }, { allowMissing: true }), /calibration.*Y/);
});

Deno.test("the group matrix averages blocks and keeps asymmetry", () => {
  const models = ["c1", "c2", "t1"];
  const S = [
    [0.9, 0.7, 0.2],
    [0.6, 0.8, 0.3],
    [0.5, 0.4, 0.9],
  ];
  const groupOf = { c1: "cnn", c2: "cnn", t1: "vit" };
  const g = groupMatrix(S, models, groupOf);
  assertEquals(g.groups, ["cnn", "vit"]);
  assertAlmostEquals(g.values[0][0], (0.9 + 0.7 + 0.6 + 0.8) / 4, 1e-12);
  assertAlmostEquals(g.values[0][1], (0.2 + 0.3) / 2, 1e-12); // cnn heatmaps on vit
  assertAlmostEquals(g.values[1][0], (0.5 + 0.4) / 2, 1e-12); // vit heatmaps on cnn
  assert(g.values[0][1] !== g.values[1][0], "not symmetrised");
  const x = groupMatrix(S, models, groupOf, { excludeSelf: true, groups: ["vit", "cnn"] });
  assertAlmostEquals(x.values[1][1], (0.7 + 0.6) / 2, 1e-12);
  assert(Number.isNaN(x.values[0][0]), "a one-model group has no off-diagonal pair");
  assertThrows(() => groupMatrix(S, models, { c1: "cnn", c2: "cnn" }), /t1 has no group/);
});
