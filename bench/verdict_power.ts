/**
 * How many images each verdict needs (issue 22 part 7). From one finished run's results.json
 * (a large one: configs/replication.json), the verdicts are recomputed on the first n searched
 * images for a ladder of n, as a run over those images would compute them (a per-image result does
 * not depend on the other images of its run). n counts images that at least one model searched, as
 * a verdict's n does: images where the baseline suffices for every model are passed over, so rung n
 * covers a few more dataset images (the replication's rung 300 is its first 312). Table 1 and Table 2 verdicts vary the
 * images of mse-search / subtree-count with the heatmaps' left whole, the cross-testing verdicts
 * the other way round. For each verdict it gives the estimate, the interval and its width on the
 * log scale at every n, the smallest n from which the outcome no longer changes, and a projection
 * that assumes the estimate stays where the whole run put it and the interval narrows as 1/√n:
 * the smallest n at which the interval would leave the rule's bounds. Also the stages' seconds per
 * image, from the run's provenance (its wall times, under whatever load that run saw).
 *
 *   deno run -A bench/verdict_power.ts [results.json | reports/expected/*.json]
 *     [--out bench/verdict-power.json] [--costs reports/expected/default.json]
 * Without a file: the committed replication (reports/expected/replication.json), which is what
 * bench/verdict-power.json is made from; a run of your own with `--out` elsewhere.
 */
import { parseArgs } from "node:util";
import { classify, computeVerdicts, describeRule, type Rule } from "../report/verdicts.ts";
import { defaults as bootstrapDefaults } from "../explain/stats.ts";
import type {
  CrossMatrixInput,
  ModelInfo,
  Outcome,
  StudyDesign,
  Table1Row,
  Verdict,
} from "../report/input.ts";

/** The parts of a results.json this benchmark reads. */
export interface RunInput {
  table1: Table1Row[];
  cross_matrix?: CrossMatrixInput;
  design?: StudyDesign;
  provenance: {
    models: ModelInfo[];
    stage_params: Record<string, Record<string, unknown>>;
    stages: {
      stage: string;
      wall_s: number;
      units_computed: number;
      units_reused?: number;
      model_evals: number;
    }[];
  };
}

/** The images, by id in dataset order (the folder dataset lists files by name). */
export function datasetOrder(input: RunInput): { mse: string[]; heatmaps: string[] } {
  const ids = new Set<string>();
  for (const r of input.table1) for (const id of r.per_image?.image_ids ?? []) ids.add(id);
  const sorted = (xs: Iterable<string>) => [...xs].sort();
  return { mse: sorted(ids), heatmaps: sorted(input.cross_matrix?.per_image?.image_ids ?? []) };
}

/** Keeps the entries of `xs` at the positions whose id is in `keep`. */
function pick<T>(ids: readonly string[], xs: readonly T[] | undefined, keep: Set<string>) {
  return xs === undefined ? undefined : xs.filter((_, k) => keep.has(ids[k]));
}

type Counts = Partial<Record<string, number[]>>;
function pickCounts(ids: readonly string[], c: Counts | undefined, keep: Set<string>) {
  if (!c) return undefined;
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [k, pick(ids, v, keep)!]));
}

/**
 * Table 1 rows restricted to the images in `keep`: only the per-image values change (the
 * verdicts read nothing else), with `images` set to the count kept.
 */
export function restrictRows(rows: readonly Table1Row[], keep: Set<string>): Table1Row[] {
  return rows.map((r) => {
    const pi = r.per_image;
    if (!pi?.image_ids) return r;
    const ids = pi.image_ids;
    const image_ids = ids.filter((id) => keep.has(id));
    const proper = pi.proper && {
      tree: pickCounts(ids, pi.proper.tree as Counts, keep),
      unique: pickCounts(ids, pi.proper.unique as Counts, keep),
    };
    return {
      ...r,
      images: image_ids.length,
      per_image: {
        image_ids,
        mse_count: pick(ids, pi.mse_count, keep)!,
        mse_size: pick(ids, pi.mse_size, keep)!,
        tree: pickCounts(ids, pi.tree as Counts, keep)!,
        ...(pi.unique ? { unique: pickCounts(ids, pi.unique as Counts, keep) } : {}),
        ...(proper ? { proper } : {}),
      } as Table1Row["per_image"],
    };
  });
}

/** The cross-testing matrix with its per-image AUCs restricted to the images in `keep`. */
export function restrictCross(cm: CrossMatrixInput, keep: Set<string>): CrossMatrixInput {
  const pi = cm.per_image;
  if (!pi) return cm;
  const ids = pi.image_ids;
  return {
    ...cm,
    per_image: {
      image_ids: ids.filter((id) => keep.has(id)),
      insertion: pi.insertion.map((row) => row.map((xs) => pick(ids, xs, keep)!)),
    },
  };
}

/** The four rules a ratio verdict may have (report/verdicts.ts), recognised by their wording. */
const RULES: Rule[] = [
  { expect: "above", claim: 1, against: 1, noEffect: true },
  { expect: "below", claim: 1, against: 1, noEffect: true },
  { expect: "below", claim: 0.5, against: 1, noEffect: true },
  { expect: "above", claim: 0.8, against: 0.8, noEffect: false },
];

export function ruleOf(v: Verdict): Rule | undefined {
  return RULES.find((r) => describeRule(r) === v.rule);
}

/**
 * The smallest n at which an interval that narrows as 1/√n around `estimate` (its two log-scale
 * half-widths at `n0` images kept in proportion) decides under `rule`, and the outcome it gives;
 * null when no n up to `maxN` does (the estimate sits on a bound).
 */
export function projectDecision(
  estimate: number,
  interval: [number, number],
  n0: number,
  rule: Rule,
  maxN = 1e6,
): { n: number; outcome: Outcome } | null {
  const c = Math.log(estimate);
  const lo = c - Math.log(interval[0]), hi = Math.log(interval[1]) - c;
  const at = (n: number) => {
    const k = Math.sqrt(n0 / n);
    return classify(Math.exp(c - lo * k), Math.exp(c + hi * k), rule);
  };
  if (at(maxN) === "inconclusive") return null;
  // The outcome is monotone in n (the interval shrinks around a fixed point): bisect.
  let a = 1, b = maxN;
  while (a < b) {
    const m = Math.floor((a + b) / 2);
    if (at(m) === "inconclusive") a = m + 1;
    else b = m;
  }
  return { n: a, outcome: at(a) };
}

/** The ladder of n: the given rungs below `max`, then `max` itself. */
export function ladder(max: number, rungs: readonly number[]): number[] {
  return [...rungs.filter((n) => n < max), max];
}

export interface PowerPoint {
  n: number;
  estimate: number | null;
  interval: [number, number] | null;
  /** log(hi / lo): comparable across verdicts and n. */
  log_width: number | null;
  outcome: Outcome;
  p?: number;
}

export interface VerdictPower {
  id: string;
  source: string;
  /** Which images vary: mse-search's (Table 1, Table 2) or the heatmaps' (cross-testing). */
  varies: "mse" | "heatmaps";
  rule: string;
  points: PowerPoint[];
  /** The smallest n of the ladder from which the outcome equals the whole run's at every rung. */
  stable_from: number;
  /** The 1/√n projection from the whole run (ratio verdicts only). */
  projected?: { n: number; outcome: Outcome } | null;
}

const point = (n: number, v: Verdict): PowerPoint => ({
  n,
  estimate: v.estimate,
  interval: v.interval,
  log_width: v.interval ? Math.log(v.interval[1] / v.interval[0]) : null,
  outcome: v.outcome,
  ...(v.test ? { p: v.test.p } : {}),
});

/** Every verdict at every n of the two ladders. */
export function verdictPower(
  input: RunInput,
  rungs: readonly number[] = [10, 20, 30, 50, 75, 100, 150, 200, 300, 400],
): VerdictPower[] {
  const rp = input.provenance.stage_params.report ?? {};
  const bootstrap = {
    ...bootstrapDefaults,
    samples: (rp.bootstrap as number | undefined) ?? bootstrapDefaults.samples,
    seed: (rp.seed as number | undefined) ?? bootstrapDefaults.seed,
  };
  const models = input.provenance.models;
  const order = datasetOrder(input);
  const run = (mseIds: string[], heatIds: string[]) =>
    computeVerdicts(models, restrictRows(input.table1, new Set(mseIds)), {
      bootstrap,
      design: input.design,
      cross: input.cross_matrix && restrictCross(input.cross_matrix, new Set(heatIds)),
    });
  const whole = run(order.mse, order.heatmaps);
  const out: VerdictPower[] = whole.map((v) => ({
    id: v.id,
    source: v.source,
    varies: v.source === "cross-testing" ? "heatmaps" : "mse",
    rule: v.rule,
    points: [],
    stable_from: 0,
  }));
  for (const n of ladder(order.mse.length, rungs)) {
    const vs = run(order.mse.slice(0, n), order.heatmaps);
    out.forEach((p, k) => p.varies === "mse" && p.points.push(point(n, vs[k])));
  }
  for (const n of ladder(order.heatmaps.length, rungs)) {
    const vs = run(order.mse, order.heatmaps.slice(0, n));
    out.forEach((p, k) => p.varies === "heatmaps" && p.points.push(point(n, vs[k])));
  }
  out.forEach((p, k) => {
    const final = whole[k].outcome;
    let from = p.points[p.points.length - 1].n;
    for (let i = p.points.length - 1; i >= 0 && p.points[i].outcome === final; i--) {
      from = p.points[i].n;
    }
    p.stable_from = from;
    const v = whole[k], rule = ruleOf(v);
    if (rule && v.estimate !== null && v.interval) {
      p.projected = projectDecision(v.estimate, v.interval, v.n.images, rule);
    }
  });
  return out;
}

/**
 * Each stage's wall seconds per image of the run (its images: mse-search's or the heatmaps'), for
 * stages that computed every unit in that run (a reused unit's time is not in its wall time).
 */
export function stageCosts(input: RunInput) {
  const order = datasetOrder(input);
  const imagesOf: Record<string, number> = {
    "mse-search": order.mse.length,
    "subtree-count": order.mse.length,
    "igos-heatmaps": order.heatmaps.length,
    "cross-test": order.heatmaps.length,
  };
  return input.provenance.stages.map((s) => ({
    stage: s.stage,
    wall_s: s.wall_s,
    units: s.units_computed,
    model_evals: s.model_evals,
    units_reused: s.units_reused ?? 0,
    ...(imagesOf[s.stage] && s.units_computed > 0 && !s.units_reused
      ? {
        images: imagesOf[s.stage],
        seconds_per_image: +(s.wall_s / imagesOf[s.stage]).toFixed(3),
      }
      : {}),
  }));
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      out: { type: "string", default: "bench/verdict-power.json" },
      /** A run whose provenance times the stages (e.g. the default's, from an empty store). */
      costs: { type: "string" },
    },
  });
  const file = positionals[0] ?? "reports/expected/replication.json";
  // A results.json, or an expectation (reports/expected/*.json) that holds one under `results`.
  const load = async (f: string) => {
    const parsed = JSON.parse(await Deno.readTextFile(f));
    return (parsed.results ?? parsed) as { input: RunInput };
  };
  const results = await load(file);
  const costs = values.costs ? await load(values.costs) : results;
  const t0 = performance.now();
  const power = verdictPower(results.input);
  const report = {
    date: new Date().toISOString(),
    source: file,
    images: datasetOrder(results.input).mse.length,
    heatmap_images: datasetOrder(results.input).heatmaps.length,
    assumption: "projected: the estimate of the whole run, its log-scale interval narrowed by " +
      "√(n_run / n); the smallest n at which that interval decides, and how",
    stage_costs_from: values.costs ?? file,
    stage_costs: stageCosts(costs.input),
    verdicts: power,
    seconds: +((performance.now() - t0) / 1000).toFixed(1),
  };
  const text = JSON.stringify(report, null, 2) + "\n";
  await Deno.writeTextFile(values.out!, text);
  console.log(text);
}
