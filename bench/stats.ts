/**
 * The bootstrap's statistics (explain/stats.ts): hand-written `mean` and `quantile` against mathjs
 * `mean` and `quantileSeq` (issue 21: use mathjs unless it costs more than 2x the bootstrap's
 * time). Each case runs the same bootstrap loop, same inputs and same draws, with the hand-written
 * pair (the module before issue 21), mathjs's quantile alone (the module now), mathjs's mean alone
 * and both, interleaved round by round; it reports each variant's median ms per call, its median
 * ratio to the hand-written one, whether it repeats bit for bit, and whether its results equal the
 * hand-written ones bit for bit (else the largest relative difference). The loop here is the
 * module's own with the two statistics as parameters: `loopMatchesModule` checks that it gives the
 * module's bootstrapMeanCI bit for bit (the ratio loop is the one the verdicts used before they
 * moved to geometric means over a joint image bootstrap; it stays as a timing case). bench/stats_test.ts runs the checks.
 *   deno run -A bench/stats.ts [--rounds 15] [--samples 2000]     (JSON lines on stdout)
 */
import { parseArgs } from "node:util";
import { mean as mathMean } from "mathjs";
import { bootstrapMeanCI, mean, quantile } from "../explain/stats.ts";
import { Rng } from "../lib/rng.ts";

type Values = ArrayLike<number | null>;
export interface Statistics {
  mean: (values: Values, idx?: ArrayLike<number>) => number;
  quantile: (sorted: ArrayLike<number>, q: number) => number;
}

/** The quantile explain/stats.ts computed by hand before issue 21 (linear, numpy's default). */
export function handQuantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const i = Math.floor(pos), f = pos - i;
  return i + 1 < sorted.length ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[i];
}

/** mathjs `mean` in the module's signature: nulls dropped, a resample gathered, NaN for none. */
function mathjsMean(values: Values, idx?: ArrayLike<number>): number {
  const xs: number[] = [];
  const len = idx ? idx.length : values.length;
  for (let k = 0; k < len; k++) {
    const v = values[idx ? idx[k] : k];
    if (v !== null) xs.push(v);
  }
  return xs.length ? mathMean(xs) as number : NaN;
}

/** The module's statistics now: hand-written mean, mathjs quantile. */
const current: Statistics = { mean, quantile };
export const variants: Record<string, Statistics> = {
  handWritten: { mean, quantile: handQuantile },
  mathjsQuantile: current,
  mathjsMean: { mean: mathjsMean, quantile: handQuantile },
  mathjsBoth: { mean: mathjsMean, quantile },
};
const { handWritten } = variants;

function resample(rng: Rng, n: number): Uint32Array {
  const idx = new Uint32Array(n);
  for (let k = 0; k < n; k++) idx[k] = rng.int(n);
  return idx;
}

function percentiles(s: Statistics, stats: Float64Array, level: number) {
  stats.sort();
  const a = (1 - level) / 2;
  return { lo: s.quantile(stats, a), hi: s.quantile(stats, 1 - a) };
}

/** bootstrapMeanCI's loop with `s` for the statistics. */
function meanCI(s: Statistics, values: number[], samples: number, seed: number) {
  const rng = new Rng(seed);
  const stats = new Float64Array(samples);
  for (let b = 0; b < samples; b++) stats[b] = s.mean(values, resample(rng, values.length));
  return { mean: s.mean(values), ...percentiles(s, stats, 0.95) };
}

/** The former bootstrapRatio's loop (ratio of group means) with `s` for the statistics. */
function ratio(s: Statistics, num: Values[], den: Values[], paired: boolean, samples: number) {
  const groupMean = (g: Values[], idx?: ArrayLike<number>[]) =>
    g.reduce((t, v, m) => t + s.mean(v, idx?.[m]), 0) / g.length;
  const all = [...num, ...den];
  const rng = new Rng(7);
  const ratios: number[] = [];
  for (let b = 0; b < samples; b++) {
    const shared = paired ? resample(rng, all[0].length) : undefined;
    const idx = all.map((a) => shared ?? resample(rng, a.length));
    const r = groupMean(num, idx.slice(0, num.length)) / groupMean(den, idx.slice(num.length));
    if (!Number.isNaN(r)) ratios.push(r);
  }
  return {
    estimate: groupMean(num) / groupMean(den),
    ...percentiles(s, Float64Array.from(ratios), 0.95),
    paired,
    samples: ratios.length,
  };
}

/** Largest relative difference over the numeric fields of two results (0: bit-identical). */
function difference(a: Record<string, unknown>, b: Record<string, unknown>) {
  let most = 0;
  let identical = true;
  for (const [k, v] of Object.entries(a)) {
    if (typeof v !== "number") continue;
    const w = b[k] as number;
    if (!Object.is(v, w)) identical = false;
    if (v !== w) most = Math.max(most, Math.abs(v - w) / Math.max(Math.abs(v), Math.abs(w)));
  }
  return { identical, maxRelDiff: most };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export interface Case {
  name: string;
  run: (s: Statistics) => Record<string, unknown>;
  /** The module's own function for the same loop, where it still has one. */
  module?: () => Record<string, unknown>;
}

/**
 * The bootstraps the report runs, on normal draws: Table 1's means over 10-500 images, and the
 * default's verdicts (9 models over 5, about 10 images each, every seventh image without a value)
 * paired and unpaired, then a 500-image replication.
 */
export function cases(samples: number): Case[] {
  const rng = new Rng(21);
  const draw = (n: number) => Array.from({ length: n }, () => 3 + rng.normal());
  const group = (models: number, n: number) =>
    Array.from({ length: models }, () => draw(n).map((x, i) => (i % 7 === 3 ? null : x)));
  const out: Case[] = [];
  for (const n of [10, 50, 160, 500]) {
    const xs = draw(n);
    out.push({
      name: `bootstrapMeanCI n=${n}`,
      run: (s) => meanCI(s, xs, samples, 4),
      module: () => ({ ...bootstrapMeanCI(xs, { samples, seed: 4 }) }),
    });
  }
  for (const [n, paired] of [[10, true], [10, false], [500, true]] as const) {
    const num = group(9, n), den = group(5, n);
    out.push({
      name: `bootstrapRatio 9/5 models n=${n} ${paired ? "paired" : "unpaired"}`,
      run: (s) => ratio(s, num, den, paired, samples),
    });
  }
  return out;
}

/** The checks without timing: the loop against the module, each variant against hand-written. */
export function agreement(c: Case) {
  const reference = c.run(handWritten);
  return {
    loopMatchesModule: c.module ? difference(c.run(current), c.module()).identical : null,
    variants: Object.fromEntries(
      Object.keys(variants).map((v) => [v, {
        sameBytesTwice: JSON.stringify(c.run(variants[v])) === JSON.stringify(c.run(variants[v])),
        ...difference(reference, c.run(variants[v])),
      }]),
    ),
  };
}

/** Median ms per call of each variant and its median ratio to the hand-written one per round. */
function measure(c: Case, rounds: number) {
  const ms: Record<string, number[]> = {};
  const ratios: Record<string, number[]> = {};
  for (const v in variants) (ms[v] = []), (ratios[v] = []);
  for (const v in variants) c.run(variants[v]); // warm-up: JIT and mathjs's typed dispatch
  // Calls per timing: enough for the hand-written loop to take about 50 ms, above timer noise.
  const start = performance.now();
  let reps = 0;
  do {
    c.run(handWritten);
    reps++;
  } while (performance.now() - start < 50);
  for (let r = 0; r < rounds; r++) {
    const names = Object.keys(variants);
    if (r % 2) names.reverse();
    const t: Record<string, number> = {};
    for (const v of names) {
      const t0 = performance.now();
      for (let k = 0; k < reps; k++) c.run(variants[v]);
      t[v] = (performance.now() - t0) / reps;
      ms[v].push(t[v]);
    }
    for (const v of names) ratios[v].push(t[v] / t.handWritten);
  }
  const checked = agreement(c);
  return {
    case: c.name,
    callsPerTiming: reps,
    loopMatchesModule: checked.loopMatchesModule,
    variants: Object.fromEntries(
      Object.keys(variants).map((v) => [v, {
        ms: +median(ms[v]).toFixed(3),
        ratio: +median(ratios[v]).toFixed(2),
        ...checked.variants[v],
      }]),
    ),
  };
}

if (import.meta.main) {
  const { values: args } = parseArgs({
    options: {
      rounds: { type: "string", default: "15" },
      samples: { type: "string", default: "2000" },
    },
  });
  const rounds = Number(args.rounds);
  for (const c of cases(Number(args.samples))) console.log(JSON.stringify(measure(c, rounds)));
}
