import { assert, assertEquals } from "../tests/assert.ts";
import { compareResults, formatDiff, matches, type Tolerances } from "./compare.ts";

const tol: Tolerances = {
  ignore: ["$.run"],
  exact: ["$.counts.**"],
  rules: [{ path: "$.curves[*]", abs: 0.1, rel: 0 }],
  default: { abs: 1e-6, rel: 1e-3 },
};

Deno.test("path patterns: * is one segment, ** any number", () => {
  assert(matches("$.a[*].b", "$.a[3].b"));
  assert(!matches("$.a[*].b", "$.a[3].c.b"));
  assert(matches("$.a.**", "$.a.x[2].y"));
  assert(matches("$.a.**", "$.a"));
});

Deno.test("counts must match exactly, floats within tolerance, ignored paths are skipped", () => {
  const e = { run: { id: "x" }, counts: { n: [3, 4] }, curves: [0.5, 0.6], t: 0.8 };
  assertEquals(
    compareResults(e, { ...e, run: { id: "y" }, curves: [0.55, 0.65], t: 0.8004 }, tol),
    [],
  );
  const d = compareResults(e, { ...e, counts: { n: [3, 5] }, t: 0.81 }, tol);
  assertEquals(d.map((x) => x.path), ["$.counts.n[1]", "$.t"]);
  assert(/expected 4, got 5 \(must match exactly\)/.test(formatDiff(d)), formatDiff(d));
});

Deno.test("structural differences are reported; a new key is listed, not a difference", () => {
  const added: string[] = [];
  const d = compareResults({ a: [1, 2], b: 1 }, { a: [1], c: 2, n: { m: 1 } }, tol, 200, added);
  assertEquals(d.map((x) => x.why), ["length differs", "missing key"]);
  assertEquals(added, ["$.c", "$.n"]);
});
