import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import {
  checkRunId,
  formatLayout,
  parseLayout,
  planWaves,
  sh,
  shardRunName,
  timeSeconds,
} from "./cluster.ts";
import { stages, units } from "../tests/fixtures/cluster_dag.ts";

Deno.test("waves follow DAG depth; arrays sized by units; single-unit tail left to the final", () => {
  const w = planWaves(stages, 3, units);
  assertEquals(w.map((x) => [x.index, x.stages, x.tasks]), [
    [1, ["preprocess"], 3],
    [2, ["infer-baselines"], 1],
    [3, ["mse-search", "igos-heatmaps"], 3],
    [4, ["subtree-count", "cross-test"], 3],
  ]);
  // Without a plan: every stage in a wave of `shards` tasks.
  const all = planWaves(stages, 2, null);
  assertEquals(all.flatMap((x) => x.stages).sort(), stages.map((s) => s.name).sort());
  assert(all.every((x) => x.tasks === 2));
  assertThrows(
    () => planWaves([{ name: "a", after: ["b"] }, { name: "b", after: ["a"] }], 2),
    /cycle/,
  );
  assertThrows(() => planWaves(stages, 0), /shards/);
});

Deno.test("the wave layout travels as one word and comes back the same", () => {
  const w = planWaves(stages, 3, units);
  const text = formatLayout(w);
  assertEquals(
    text,
    "preprocess:3;infer-baselines:1;mse-search,igos-heatmaps:3;subtree-count,cross-test:3",
  );
  assertEquals(parseLayout(text), w);
  assertEquals(parseLayout(""), []);
  assertThrows(() => parseLayout("preprocess:3;;kpca:1"), /wave 2 "": expected/);
  assertThrows(() => parseLayout("preprocess:0"), /wave 1 "preprocess:0"/);
});

Deno.test("Slurm times become deadlines; run ids that name jobs and folders are checked", () => {
  assertEquals(timeSeconds("24:00:00"), 86400);
  assertEquals(timeSeconds("1-02:00:00"), 93600);
  assertEquals(timeSeconds("1-2"), 93600);
  assertEquals(timeSeconds("90"), 5400);
  assertEquals(timeSeconds("5:30"), 330);
  assertThrows(() => timeSeconds("1h"), /--time "1h"/);
  assertEquals(checkRunId("20240101-120000-paper"), "20240101-120000-paper");
  assertThrows(() => checkRunId("a b"), /--run-id "a b"/);
  assertThrows(() => checkRunId("-x"), /--run-id/);
  assertEquals(checkRunId("a".repeat(80)), "a".repeat(80));
  assertEquals(shardRunName("r-w2", { index: 1, count: 3 }), "r-w2-shard-1-of-3");
  assertEquals(shardRunName("r"), "r");
});

Deno.test("sh quotes only what needs it", () => {
  assertEquals(sh("configs/paper.json"), "configs/paper.json");
  assertEquals(sh("a b"), "'a b'");
  assertEquals(sh("it's"), `'it'\\''s'`);
});
