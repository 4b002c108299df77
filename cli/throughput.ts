/**
 * Model throughput for `plan`: forward masks/s of the Scorer (and rows/s of the gradient graph),
 * measured here on a present model, or read from a `--throughput` file written for another device.
 */
import type { Config } from "../configs/schema.ts";
import { Rng } from "../lib/rng.ts";
import { OnnxScorer } from "../runtime/onnx_scorer.ts";
import { sessionOptions } from "../stages/support/session_options.ts";
import { jsonSyntaxReason } from "../lib/json_reason.ts";
import type { ModelSpec } from "../runtime/registry.ts";
import { openGradientModel } from "../stages/support/open_gradient.ts";

/** A `--throughput` file: forward masks/s per model id, a default, and the device it is for. */
export interface ThroughputFile {
  device: string;
  rates: Record<string, number>;
  default?: number;
  gradientCost?: number;
}

const typeName = (v: unknown) =>
  v === null ? "null" : Array.isArray(v) ? "an array" : `a ${typeof v}`;

/** Parses a throughput JSON file's contents; errors name the file and key. */
export function parseThroughput(raw: unknown, path: string): ThroughputFile {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error(`${path}: expected an object of masks/s per model id`);
  }
  const out: ThroughputFile = { device: "unnamed device", rates: {} };
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (k.startsWith("//") || k === "$comment" || k === "notes") continue;
    if (k === "device") {
      if (typeof v !== "string") throw new Error(`${path}: device: expected a string`);
      out.device = v;
      continue;
    }
    // Bounded so that a typo cannot print 40-digit hours: no device runs 1e9 masks/s or 1 per
    // 1,000 s.
    if (typeof v !== "number" || !(v >= 1e-3 && v <= 1e9)) {
      throw new Error(
        `${path}: ${k}: expected a number of masks/s from 0.001 to 1e9, got ${
          typeof v === "number" ? v : typeName(v)
        }`,
      );
    }
    if (k === "default") out.default = v;
    else if (k === "gradientCost") out.gradientCost = v;
    else out.rates[k] = v;
  }
  return out;
}

export async function readThroughput(path: string): Promise<ThroughputFile> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(`${path}: cannot read throughput file (${jsonSyntaxReason(e)})`);
  }
  return parseThroughput(raw, path);
}

/**
 * A rate is the best of this many equal windows of the time given: other work on the machine only
 * ever slows a window, so the fastest is the nearest to the machine's own (timeit's rule).
 */
const WINDOWS = 3;

async function bestOf(window: () => Promise<number>): Promise<number> {
  let best = 0;
  for (let i = 0; i < WINDOWS; i++) best = Math.max(best, await window());
  return best;
}

/** Forward masks/s of the Scorer on one model: 7x7 masks from many concurrent callers. */
export async function measureRate(
  onnx: string,
  dims: number[],
  config: Config,
  seconds: number,
): Promise<number> {
  const [c, h, w] = dims;
  const rng = new Rng(1);
  const img = () => Float32Array.from({ length: c * h * w }, () => rng.normal());
  const images = [img(), img(), img(), img()];
  const scorer = await OnnxScorer.create(onnx, images, images.map((x) => x.map((v) => v * 0.1)), {
    batchSize: 32,
    mode: config.upsample,
    session: sessionOptions(config),
  });
  try {
    const reqs = Array.from({ length: 8 }, (_, i) =>
      Array.from({ length: 8 }, () => ({
        image: i % 4,
        mask: Float32Array.from({ length: 49 }, () => rng.next()),
        cls: 0,
      })));
    await Promise.all(reqs.map((r) => scorer.score(r))); // warm-up
    const window = async () => {
      const t0 = performance.now();
      let masks = 0;
      await Promise.all(reqs.map(async (r) => {
        while (performance.now() - t0 < (seconds / WINDOWS) * 1000) {
          const p = await scorer.score(r);
          masks += p.length;
        }
      }));
      return masks / ((performance.now() - t0) / 1000);
    };
    return await bestOf(window);
  } finally {
    await scorer.release();
  }
}

/**
 * Rows/s of a model's gradient graph with the backward (gradient rows) and without it (I-GOS line
 * searches), at the batch the stages use. On a quantised model this graph is the dequantised one,
 * so neither follows from the Scorer's rate.
 */
export async function measureGradientRates(
  m: ModelSpec,
  config: Config,
  seconds: number,
): Promise<{ gradient: number; gradientForward: number }> {
  const g = await openGradientModel(m, config);
  try {
    const [c, h, w] = g.inputShape;
    const n = g.maxBatch;
    const rng = new Rng(2);
    const x = Float32Array.from({ length: n * c * h * w }, () => rng.normal());
    const cls = new Int32Array(n);
    const rate = async (run: () => Promise<unknown>) => {
      await run(); // warm-up
      return await bestOf(async () => {
        const t0 = performance.now();
        let rows = 0;
        do {
          await run();
          rows += n;
        } while (performance.now() - t0 < (seconds / WINDOWS) * 1000);
        return rows / ((performance.now() - t0) / 1000);
      });
    };
    return {
      gradient: await rate(() => g.probsAndGrad(x, n, cls)),
      gradientForward: await rate(() => g.probs(x, n, cls)),
    };
  } finally {
    await g.close();
  }
}
