import { assert, assertEquals } from "../tests/assert.ts";
import {
  changed,
  diffRuns,
  diffValues,
  formatDiffMarkdown,
  formatDiffText,
  type ResultsFile,
} from "./diff.ts";
import type { Verdict } from "./input.ts";

const iv = (mean: number, lo: number, hi: number) => ({ mean, lo, hi });

const verdict = (id: string, outcome: Verdict["outcome"], interval: [number, number]): Verdict => ({
  id,
  source: "Table 1",
  finding: `finding ${id}`,
  statement: "s",
  statistic: "ratio of geometric means of 1 + count",
  estimate: (interval[0] + interval[1]) / 2,
  interval,
  rule: "r",
  outcome,
  sentence: `${id} ${outcome}`,
  n: { images: 10, models: 2 },
  numerator: ["x"],
  denominator: ["y"],
});

/** Two small runs: B has a wider beam, one more MSE for model x, a new model z, a flipped verdict. */
function runs(): [ResultsFile, ResultsFile] {
  const a: ResultsFile = {
    input: {
      run: { id: "a", config: "c.json", created: "t" },
      provenance: {
        config: { name: "c", stages: { "mse-search": { beamWidth: 2 } } },
        models: [],
      },
      accuracy: { models: [{ model: "x", top1: 0.9, images: 10 }, { model: "y", top1: 0.8 }] },
      table1: [
        {
          model: "x",
          images: 10,
          mse_count: iv(2, 1, 3),
          mse_size: iv(5, 4, 6),
          tree: { "0.8": iv(10, 8, 12) },
        },
      ],
      cross_matrix: { models: ["x", "y"], insertion: [[1, 0.5], [0.25, 1]] },
    },
    derived: {
      verdicts: [verdict("v1", "inconclusive", [0.5, 2]), verdict("v2", "replicates", [2, 3])],
    },
  };
  const b: ResultsFile = structuredClone(a);
  b.input.provenance!.config = { name: "c", stages: { "mse-search": { beamWidth: 4 } } };
  b.input.table1![0].mse_count = iv(6, 5, 7);
  b.input.table1![0].tree["0.8"] = iv(11, 9, 13);
  b.input.accuracy!.models.push({ model: "z", top1: 0.7 });
  b.derived!.verdicts![0] = verdict("v1", "replicates", [1.5, 2.5]);
  return [a, b];
}

Deno.test("diff names the params that differ, path by path", () => {
  const [a, b] = runs();
  const d = diffRuns({ id: "A", results: a }, { id: "B", results: b });
  assertEquals(d.params, [{ path: "stages.mse-search.beamWidth", a: 2, b: 4 }]);
  assertEquals(diffValues({ m: [1, 2] }, { m: [1, 3], n: true }), [
    { path: "m[1]", a: 2, b: 3 },
    { path: "n", a: undefined, b: true },
  ]);
});

Deno.test("every table number comes with its delta and, for intervals, whether they overlap", () => {
  const [a, b] = runs();
  const d = diffRuns({ id: "A", results: a }, { id: "B", results: b });
  const find = (table: string, row: string, column: string) =>
    d.numbers.find((n) => n.table === table && n.row === row && n.column === column)!;
  // accuracy: x (top1, images), y (top1), z (top1, only in B); ensembles: none; table1: images,
  // MSE count, MSE size, one threshold; cross matrix: 4 cells; verdicts: 2 estimates.
  assertEquals(d.numbers.length, 4 + 4 + 4 + 2);
  assertEquals(find("table1", "x", "MSE count"), {
    table: "table1",
    row: "x",
    column: "MSE count",
    a: 2,
    b: 6,
    delta: 4,
    intervals: { a: [1, 3], b: [5, 7], overlap: false },
  });
  assertEquals(find("table1", "x", "sub ≥ 0.8").intervals!.overlap, true);
  assertEquals(find("table1", "x", "MSE size").delta, 0);
  assertEquals(find("accuracy", "z", "top1"), {
    table: "accuracy",
    row: "z",
    column: "top1",
    a: null,
    b: 0.7,
    delta: null,
  });
  assertEquals(find("cross-matrix", "y → x", "S").a, 0.25);
  assertEquals(find("verdicts", "v1", "estimate").intervals!.overlap, true);
  assertEquals(d.numbers.filter(changed).map((n) => `${n.table}/${n.row}/${n.column}`), [
    "accuracy/z/top1",
    "table1/x/MSE count",
    "table1/x/sub ≥ 0.8",
    "verdicts/v1/estimate",
  ]);
});

Deno.test("diff lists only the verdicts whose outcome changed", () => {
  const [a, b] = runs();
  const d = diffRuns({ id: "A", results: a }, { id: "B", results: b });
  assertEquals(d.verdicts.map((v) => [v.id, v.a, v.b]), [["v1", "inconclusive", "replicates"]]);
  const same = diffRuns({ id: "A", results: a }, { id: "A2", results: structuredClone(a) });
  assertEquals([same.params, same.verdicts, same.numbers.filter(changed)], [[], [], []]);
});

Deno.test("text shows what moved and what did not; Markdown lists every number", () => {
  const [a, b] = runs();
  const d = diffRuns({ id: "A", results: a }, { id: "B", results: b });
  const text = formatDiffText(d);
  assert(text.startsWith("diff A → B\n"), text);
  assert(text.includes("  stages.mse-search.beamWidth: 2 → 4"), text);
  assert(
    text.includes("table numbers: 14 compared, 4 differ, 1 with disjoint 95% intervals"),
    text,
  );
  assert(/x +MSE count +2 \[1, 3\] +6 \[5, 7\] +\+4 +DISJOINT/.test(text), text);
  assert(text.includes("cross-testing matrix S: all 4 equal"), text);
  assert(text.includes("  v1: inconclusive → replicates"), text);
  const md = formatDiffMarkdown(d);
  assert(md.includes("| `stages.mse-search.beamWidth` | `2` | `4` |"), md);
  assert(md.includes("| x | MSE size | 5 [4, 6] | 5 [4, 6] | 0 | overlap |"), md);
  assertEquals(md.split("\n").filter((l) => /^\| (x|y|z|v1|v2|[xy] → [xy]) \|/.test(l)).length, 14);
});
