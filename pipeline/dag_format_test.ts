import { assert, assertEquals } from "../tests/assert.ts";
import { dagDot, dagMermaid, dagText } from "./dag_format.ts";

/** A diamond with a stale branch: b and c read a, d reads both. */
const stages = [
  { name: "d-join", after: ["b", "c"], fresh: 0, stale: 1 },
  { name: "a", after: [], fresh: 4, stale: 0 },
  { name: "b", after: ["a"], fresh: 2, stale: 0 },
  { name: "c", after: ["a"], fresh: 1, stale: 2 },
];

Deno.test("the text graph lists stages in dependency order, indented by depth, with counts", () => {
  assertEquals(dagText(stages).split("\n"), [
    "stage       units  fresh  stale         reads",
    "a               4      4      0  fresh  (inputs only)",
    "  b             2      2      0  fresh  a",
    "  c             3      1      2  STALE  a",
    "    d-join      1      0      1  STALE  b, c",
  ]);
  assert(dagText(stages.map(({ name, after }) => ({ name, after }))).includes("d-join"));
});

Deno.test("Mermaid and DOT draw every edge and mark the stale stages", () => {
  const m = dagMermaid(stages);
  assert(m.startsWith("flowchart TD\n"));
  assert(m.includes('  d_join["d-join<br/>0/1 fresh"]'), m);
  for (const e of ["a --> b", "a --> c", "b --> d_join", "c --> d_join"]) assert(m.includes(e), e);
  assert(m.includes("class c,d_join stale"), m);
  const d = dagDot(stages);
  for (const e of ['"a" -> "b";', '"c" -> "d-join";']) assert(d.includes(e), e);
  assert(/"c" \[label="c\\n1\/3 fresh", style="rounded,filled"/.test(d), d);
  assert(/"b" \[label="b\\n2\/2 fresh"\];/.test(d), d);
});
