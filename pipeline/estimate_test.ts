import { join } from "node:path";
import { assertAlmostEquals, assertEquals } from "../tests/assert.ts";
import { calibratedHours, measuredTime } from "./estimate.ts";
import { Store } from "./store.ts";

/** A finished unit as the store keeps it (manifest and timings), started `start` s after midnight. */
async function unit(store: Store, key: string, start: number, wall: number, counters = {}) {
  const dir = store.entryDir("s", key);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    join(dir, "manifest.json"),
    JSON.stringify({
      stage: "s",
      unit: key,
      key,
      components: {},
      files: {},
      outputHash: key,
      counters,
      provenance: {},
    }),
  );
  // When it started and how long it took live in the timings sidecar, outside every hash.
  await Deno.writeTextFile(
    join(dir, "timings.json"),
    JSON.stringify({
      startedAt: new Date(Date.UTC(2026, 0, 1) + start * 1000).toISOString(),
      wallSeconds: wall,
    }),
  );
}

Deno.test("measuredTime counts overlapping units once and weights gradient rows", async () => {
  const store = new Store(await Deno.makeTempDir());
  assertEquals(await measuredTime(store, "s", 3), null);
  // Two units in flight together (0-10 s and 5-12 s), then one alone (20-25 s): 17 s busy.
  await unit(store, "u1", 0, 10, { modelEvals: 100 });
  await unit(store, "u2", 5, 7, { modelEvals: 100, gradientEvals: 10 });
  await unit(store, "u3", 20, 5, { modelEvals: 50 });
  await unit(store, "u4", 21, 1, {});
  const t = (await measuredTime(store, "s", 3))!;
  assertEquals(t.units, 4);
  assertAlmostEquals(t.busySeconds, 17, 1e-9);
  assertEquals(t.rows, 280);
});

Deno.test("calibratedHours runs rows at the measured seconds per row, else units per unit", () => {
  const t = { units: 4, busySeconds: 360, rows: 1200 };
  const est = (forward: number, gradient: number, units = 8) => ({
    units,
    images: 0,
    forward: { m: forward },
    gradient: { m: gradient },
    basis: "",
  });
  // 0.3 s per weighted row: 2000 + 3 x 1000 rows = 5000 rows, 1500 s.
  assertAlmostEquals(calibratedHours(est(2000, 1000), t, 3), 1500 / 3600, 1e-12);
  // No rows (a stage that runs no model): 90 s per unit.
  assertAlmostEquals(calibratedHours(est(0, 0), t, 3), 720 / 3600, 1e-12);
  assertAlmostEquals(calibratedHours(est(10, 0), { ...t, rows: 0 }, 3), 720 / 3600, 1e-12);
});
