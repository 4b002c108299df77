import { assert, assertEquals } from "../tests/assert.ts";
import { formatDuration, StageProgress } from "./progress.ts";

Deno.test("plain progress lines are periodic, say rate and ETA, and the last one is not repeated", () => {
  let now = 0;
  const lines: string[] = [];
  const p = new StageProgress("mse-search", 4, {
    live: false,
    intervalMs: 10_000,
    now: () => now,
    write: (t) => lines.push(t),
  });
  now = 2000;
  p.unitDone("a"); // first line is printed at once
  now = 4000;
  p.unit("b", 0.5); // within the interval: quiet
  assertEquals(lines.length, 1);
  assert(
    /mse-search: 1\/4 units, 30\.0 units\/min, elapsed 2\.0s, ETA 6\.0s/.test(lines[0]),
    lines[0],
  );
  now = 20_000;
  p.unitDone("b");
  p.unitDone("c");
  p.unitDone("d");
  p.finish();
  assert(/4\/4 units/.test(lines.at(-1)!), lines.join(""));
  assertEquals(lines.filter((l) => /4\/4/.test(l)).length, 1);
});

Deno.test("evaluate's progress counts images, a batch at a time", () => {
  let now = 0;
  const lines: string[] = [];
  const p = new StageProgress("evaluate", 200, {
    live: false,
    intervalMs: 5_000,
    now: () => now,
    write: (t) => lines.push(t),
    noun: "images",
  });
  now = 4000;
  p.advance(64);
  now = 10_000;
  p.advance(136);
  p.finish();
  assertEquals(lines, [
    "evaluate: 64/200 images, 16.0 images/s, elapsed 4.0s, ETA 8.5s\n",
    "evaluate: 200/200 images, 20.0 images/s, elapsed 10s, ETA 0s\n",
  ]);
});

Deno.test("durations read naturally", () => {
  assertEquals(formatDuration(5.25), "5.3s");
  assertEquals(formatDuration(125), "2m05s");
  assertEquals(formatDuration(7260), "2h01m");
});
