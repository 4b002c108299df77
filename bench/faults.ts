/**
 * The fault-injection figures (tests/fixtures/faults.ts) on tests/slurm/tiny.json: kill -9 at
 * seeded points, seeded bit flips, a moved checkout. Prints JSON: kills survived (results
 * byte-identical after a rerun), flips found (on read, by --verify) with identical results, units
 * lost (complete before a kill but computed again), and the moved checkout's cache hits.
 *   deno run -A bench/faults.ts [--kills 20] [--flips 20] [--seed 17]
 */
import { parseArgs } from "node:util";
import {
  baseline,
  FAULTS_CONFIG,
  type FlipPoint,
  flipPoint,
  type KillPoint,
  killPoint,
  movedCheckout,
} from "../tests/fixtures/faults.ts";
import { stages } from "../stages/index.ts";

const { values } = parseArgs({
  options: {
    kills: { type: "string", default: "20" },
    flips: { type: "string", default: "20" },
    seed: { type: "string", default: "17" },
  },
});
const [nKills, nFlips, seed] = [values.kills, values.flips, values.seed].map(Number);
const readers = (stage: string) => stages.filter((s) => s.after.includes(stage)).map((s) => s.name);
const progress = (line: string) => console.error(line);

const dir = await Deno.makeTempDir({ prefix: "xcompare-faults-bench-" });
try {
  const t0 = performance.now();
  const b = await baseline(dir);
  progress(`baseline: ${b.units} units in ${b.seconds.toFixed(1)} s`);
  const kills: KillPoint[] = [];
  for (let i = 0; i < nKills; i++) {
    const k = await killPoint(b, seed, i);
    kills.push(k);
    progress(
      `kill ${i}: after ${k.afterUnits}+${k.jitterMs} ms, ${k.unitsAtKill} complete and ${k.writingAtKill} being written; rerun reused ${k.rerunReused}, ${
        k.differences.length ? "DIFFERENT" : "identical"
      }`,
    );
  }
  const flips: FlipPoint[] = [];
  for (let i = 0; i < nFlips; i++) {
    const f = await flipPoint(b, readers, seed, i);
    flips.push(f);
    progress(
      `flip ${i}: ${f.entry}/${f.file} byte ${f.offset} bit ${f.bit}: found by ${f.foundBy} (${f.mode} mode), ${
        f.differences.length ? "DIFFERENT" : "identical"
      }`,
    );
  }
  const moved = await movedCheckout(b);
  const killed = kills.filter((k) => k.killed);
  const byFound = (by: string) => flips.filter((f) => f.foundBy === by).length;
  console.log(JSON.stringify(
    {
      config: FAULTS_CONFIG,
      seed,
      units: b.units,
      baselineSeconds: +b.seconds.toFixed(1),
      kills: {
        points: kills.length,
        killed: killed.length,
        killedWhileWriting: killed.filter((k) => k.writingAtKill > 0).length,
        survived: killed.filter((k) => k.differences.length === 0).length,
        unitsLost: kills.reduce((n, k) => n + k.lost, 0),
        unitsAtKill: killed.map((k) => k.unitsAtKill),
      },
      flips: {
        injected: flips.length,
        foundOnRead: byFound("read"),
        foundByVerify: byFound("verify"),
        notFound: flips.filter((f) => f.foundBy === null).length,
        identicalAfter: flips.filter((f) => f.differences.length === 0).length,
        stagesHit: [...new Set(flips.map((f) => f.entry.split("/")[0]))],
      },
      movedCheckout: {
        freshStoreElsewhereIdentical: moved.freshDifferences.length === 0,
        storePathInManifests: moved.storePathInManifests.length,
        absoluteKeys: moved.absoluteKeys.length,
        cacheHitsAfterMove: `${moved.movedReused}/${moved.movedReused + moved.movedComputed}`,
        identicalAfterMove: moved.movedDifferences.length === 0,
      },
      failures: [
        ...kills.filter((k) => k.differences.length).map((k) => ({ kill: k })),
        ...flips.filter((f) => f.differences.length || !f.foundBy).map((f) => ({ flip: f })),
      ],
      seconds: Math.round((performance.now() - t0) / 1000),
    },
    null,
    1,
  ));
} finally {
  await Deno.remove(dir, { recursive: true });
}
