/**
 * The throughput file `xcompare plan --throughput` reads (cli/throughput.ts), made from what
 * bench/gpu.sh measured on one machine: the Scorer's masks/s per model of the config
 * (bench/scorer.ts), the gradient's cost per image relative to the forward pass (bench/grad.ts),
 * and the config's DAG as reproduce ran it (run.json). Measured rates only: a model the Scorer
 * benchmark did not measure takes the file's `default` (the median measured rate), and every
 * measurement must come from the provider named, so CPU numbers are never labelled a GPU's.
 *
 *   deno run --allow-read bench/gpu_throughput.ts --config F --provider P --device NAME
 *     --scorer scorer.json --grad grad.jsonl [--run run.json]   (JSON on stdout)
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import type { Provider, RuntimeIdentity } from "../lib/runtime_identity.ts";

/** bench/scorer.ts's output, as far as this reads it. */
export interface ScorerBench {
  runtime: RuntimeIdentity;
  results: ({
    model: string;
    batchSize: number;
    scorerMasksPerSecond: number;
    rawMasksPerSecond: number;
  } | { model: string; error: string })[];
}

/** One line of bench/grad.ts's output. */
export type GradBench = {
  model: string;
  provider: Provider;
  batch: number;
  forwardMsPerImage: number;
  gradMsPerImage: number;
  ratio: number;
  medianRoundRatio: number;
} | { model: string; error: string };

/** What run.json of the DAG run holds, as far as this reads it (cli/run_record.ts). */
export interface DagRun {
  runId: string;
  config: string;
  runtime?: RuntimeIdentity;
  summaries: {
    stage: string;
    computed: number;
    reused: number;
    wallSeconds: number;
    counters: Record<string, number>;
  }[];
}

export interface ThroughputInputs {
  /** Config models: id and ONNX path (relative to `root`). */
  models: { id: string; onnx: string }[];
  provider: Provider;
  device: string;
  scorer: ScorerBench;
  grad: GradBench[];
  dag?: DagRun;
  /** Where relative model paths start. */
  root: string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const round = (x: number, digits = 3) => Number(x.toFixed(digits));

/**
 * The throughput file (the JSON that cli/throughput.ts `parseThroughput` reads into a
 * `ThroughputFile`): `device`, a rate per config model the Scorer benchmark measured, `default`
 * (their median), `gradientCost` (the median over models of gradient ms/image over forward
 * ms/image), and `notes` (skipped by the reader) with the measurements behind them.
 */
export function throughputFile(i: ThroughputInputs): Record<string, unknown> {
  if (i.scorer.runtime.provider !== i.provider) {
    throw new Error(
      `scorer benchmark: ran on ${i.scorer.runtime.provider}, not ${i.provider}; rerun it with ` +
        `--provider ${i.provider}`,
    );
  }
  const failed = i.scorer.results.filter((r) => "error" in r);
  const idOf = new Map(i.models.map((m) => [resolve(i.root, m.onnx), m.id]));
  const rates: Record<string, number> = {};
  const scorerNotes = [];
  for (const r of i.scorer.results) {
    if ("error" in r) continue;
    const id = idOf.get(resolve(i.root, r.model));
    scorerNotes.push({
      model: id ?? r.model,
      batch: r.batchSize,
      scorerMasksPerSecond: r.scorerMasksPerSecond,
      rawMasksPerSecond: r.rawMasksPerSecond,
    });
    if (id !== undefined) rates[id] = r.scorerMasksPerSecond;
  }
  const measured = Object.values(rates);
  if (measured.length === 0) {
    throw new Error(
      `scorer benchmark: no model of the config was measured (${
        failed.map((f) => `${f.model}: ${(f as { error: string }).error}`).join("; ") ||
        "none of its paths matched"
      })`,
    );
  }
  const grads = i.grad.filter((g) => !("error" in g)) as Exclude<GradBench, { error: string }>[];
  const wrong = grads.find((g) => g.provider !== i.provider);
  if (wrong) {
    throw new Error(
      `gradient benchmark: ${wrong.model} ran on ${wrong.provider}, not ${i.provider}`,
    );
  }
  const gradientCost = grads.length ? round(median(grads.map((g) => g.ratio))) : undefined;
  const dag = i.dag
    ? {
      runId: i.dag.runId,
      config: i.dag.config,
      runtime: i.dag.runtime,
      wallSeconds: round(i.dag.summaries.reduce((a, s) => a + s.wallSeconds, 0), 1),
      stages: i.dag.summaries.map((s) => ({
        stage: s.stage,
        computed: s.computed,
        wallSeconds: round(s.wallSeconds, 2),
        modelEvals: s.counters.modelEvals ?? 0,
        modelEvalsPerSecond: s.counters.modelEvals && s.wallSeconds > 0
          ? Math.round(s.counters.modelEvals / s.wallSeconds)
          : null,
      })),
    }
    : undefined;
  if (dag && dag.runtime && dag.runtime.provider !== i.provider) {
    throw new Error(`DAG run ${dag.runId}: ran on ${dag.runtime.provider}, not ${i.provider}`);
  }
  const absent = i.models.filter((m) => rates[m.id] === undefined).map((m) => m.id);
  return {
    "//": `Measured by bench/gpu.sh on ${i.device} (${i.provider}, onnxruntime ` +
      `${i.scorer.runtime.ortVersion}): forward masks/s of the Scorer per model (bench/scorer.ts, ` +
      `7x7 masks); default = their median${
        absent.length ? `, used for ${absent.join(", ")}` : ""
      }; gradientCost = median gradient/forward ms per image (bench/grad.ts).`,
    device: `${i.device} (${i.provider}, measured)`,
    ...rates,
    default: Math.round(median(measured)),
    ...(gradientCost !== undefined ? { gradientCost } : {}),
    notes: {
      runtime: i.scorer.runtime,
      scorer: scorerNotes,
      scorerErrors: failed,
      grad: i.grad,
      dag,
    },
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      config: { type: "string" },
      provider: { type: "string" },
      device: { type: "string" },
      scorer: { type: "string" },
      grad: { type: "string" },
      run: { type: "string" },
    },
  });
  for (const k of ["config", "provider", "device", "scorer", "grad"] as const) {
    if (!values[k]) {
      console.error(`gpu_throughput: --${k} is required`);
      Deno.exit(2);
    }
  }
  const read = async (path: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch (e) {
      throw new Error(`${path}: cannot read (${(e as Error).name})`);
    }
  };
  const parse = (path: string, text: string) => {
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`${path}: not JSON`);
    }
  };
  const config = parse(values.config!, await read(values.config!));
  const gradLines = (await read(values.grad!)).split("\n").filter((l) => l.trim());
  const file = throughputFile({
    models: config.models,
    provider: values.provider as Provider,
    device: values.device!,
    scorer: parse(values.scorer!, await read(values.scorer!)),
    grad: gradLines.map((l, n) => parse(`${values.grad}:${n + 1}`, l)),
    dag: values.run ? parse(values.run, await read(values.run)) : undefined,
    root: Deno.cwd(),
  });
  console.log(JSON.stringify(file, null, 1));
}
