/**
 * Is the Scorer's coalescing and in-graph composition worth it? Compares its masks/s (7x7 masks,
 * many concurrent callers) with raw session.run of the bare model on pre-composed batches of the
 * same size, same model, same process, interleaved. Prints JSON.
 *
 *   deno run -A bench/scorer.ts [--model path]... [--seconds 0.6] [--callers 32] [--rounds 10]
 *     [--threads T] [--provider cuda] [--batch B]
 *
 * `--provider P` opens every session on P alone (no fallback: it fails where P does not open);
 * `--batch B` sets the batch of the model files (default 128, MobileNetV2 16); `--only-models`
 * benchmarks the `--model` files alone (not the in-memory model, the zoo and MobileNetV2).
 */
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { Rng } from "../lib/rng.ts";
import type { ScoreRequest } from "../explain/scorer.ts";
import { compose, Upsampler } from "../explain/upsample.ts";
import { randomImages, tinyRgb } from "../tests/fixtures/tiny_models.ts";
import { inspectModel } from "../runtime/onnx/inspect.ts";
import { decodeModel, encodeModel, type ModelProto } from "../runtime/onnx/proto.ts";
import { OnnxScorer } from "../runtime/onnx_scorer.ts";
import { createSession, runtimeIdentity } from "../runtime/session.ts";
import { type Provider, providers } from "../lib/runtime_identity.ts";

const SIDE = 7;

interface Measured {
  masksPerSecond: number;
  runs: number;
  seconds: number;
}

async function rawRate(
  session: ort.InferenceSession,
  batch: Float32Array,
  dims: number[],
  seconds: number,
): Promise<Measured> {
  const feeds = { [session.inputNames[0]]: new ort.Tensor("float32", batch, dims) };
  await session.run(feeds);
  let runs = 0;
  const t0 = performance.now();
  do {
    await session.run(feeds);
    runs++;
  } while (performance.now() - t0 < seconds * 1000 || runs < 3);
  const s = (performance.now() - t0) / 1000;
  return { masksPerSecond: (runs * dims[0]) / s, runs, seconds: s };
}

async function scorerRate(
  scorer: OnnxScorer,
  requests: ScoreRequest[][],
  seconds: number,
): Promise<Measured & { utilisation: number; meanBatchFill: number }> {
  await Promise.all(requests.map((r) => scorer.score(r))); // warm-up
  scorer.resetStats();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let masks = 0;
  await Promise.all(requests.map(async (reqs) => {
    while (performance.now() < deadline || masks < 3 * scorer.batchSize) {
      const p = await scorer.score(reqs); // not `masks += await ...`: that reads masks first
      masks += p.length;
    }
  }));
  const s = (performance.now() - t0) / 1000;
  const st = scorer.stats();
  return {
    masksPerSecond: masks / s,
    runs: st.batches,
    seconds: s,
    utilisation: st.utilisation,
    meanBatchFill: st.meanBatchFill,
  };
}

async function benchModel(
  name: string,
  model: ModelProto,
  batchSize: number,
  opts: {
    seconds: number;
    callers: number;
    rounds: number;
    threads?: number;
    provider?: Provider;
  },
) {
  const io = inspectModel(model, name);
  const [, c, h, w] = io.inputDims as number[];
  const chw = c * h * w;
  const k = 16;
  const images = randomImages(k, chw, 1);
  const baselines = randomImages(k, chw, 2).map((b) => b.map((v) => v * 0.1));
  const rng = new Rng(3);
  const perCall = Math.max(1, Math.round((2 * batchSize) / opts.callers));
  const requests = Array.from(
    { length: opts.callers },
    (_, i) =>
      Array.from({ length: perCall }, () => ({
        image: (i + rng.int(4)) % k,
        mask: Float32Array.from({ length: SIDE * SIDE }, () => rng.next()),
        cls: rng.int(10),
      })),
  );
  // Raw baseline: the same masks composed in TypeScript once, outside the timed loop.
  const up = new Upsampler(SIDE, SIDE, h, w, "bilinear");
  const flat = requests.flat();
  const batch = new Float32Array(batchSize * chw);
  for (let i = 0; i < batchSize; i++) {
    const r = flat[i % flat.length];
    compose(
      images[r.image],
      baselines[r.image],
      up.apply(r.mask),
      c,
      batch.subarray(i * chw, (i + 1) * chw),
    );
  }
  const session = {
    threads: opts.threads,
    ...(opts.provider ? { providers: [opts.provider], requireProvider: opts.provider } : {}),
  };
  const bare = await createSession(encodeModel(model), session);
  const scorer = await OnnxScorer.create(model, images, baselines, { batchSize, session });
  const rounds: { raw: Measured; scorer: Measured; ratio: number }[] = [];
  for (let round = 0; round < opts.rounds; round++) {
    const raw = await rawRate(bare.session, batch, [batchSize, c, h, w], opts.seconds);
    const sc = await scorerRate(scorer, requests, opts.seconds);
    rounds.push({ raw, scorer: sc, ratio: sc.masksPerSecond / raw.masksPerSecond });
  }
  const mean = (f: (r: (typeof rounds)[number]) => number) =>
    rounds.reduce((a, r) => a + f(r), 0) / rounds.length;
  const raw = mean((r) => r.raw.masksPerSecond);
  const sc = mean((r) => r.scorer.masksPerSecond);
  const ratios = rounds.map((r) => r.ratio).sort((a, b) => a - b);
  await bare.session.release();
  await scorer.release();
  return {
    model: name,
    input: [c, h, w],
    batchSize,
    callers: opts.callers,
    masksPerCall: perCall,
    rawMasksPerSecond: Math.round(raw),
    scorerMasksPerSecond: Math.round(sc),
    /** Mean scorer rate over mean raw rate, rounds interleaved. */
    ratio: Number((sc / raw).toFixed(3)),
    /** Median of the per-round ratios (each round: raw then scorer, back to back). */
    medianRoundRatio: Number(ratios[Math.floor(ratios.length / 2)].toFixed(3)),
    rounds,
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      model: { type: "string", multiple: true },
      seconds: { type: "string", default: "0.6" },
      callers: { type: "string", default: "32" },
      rounds: { type: "string", default: "10" },
      threads: { type: "string" },
      provider: { type: "string" },
      batch: { type: "string" },
      "only-models": { type: "boolean" },
    },
  });
  if (values.provider && !providers.includes(values.provider as Provider)) {
    throw new Error(
      `--provider: expected one of ${providers.join(", ")}, got "${values.provider}"`,
    );
  }
  const opts = {
    seconds: Number(values.seconds),
    callers: Number(values.callers),
    rounds: Number(values.rounds),
    threads: values.threads ? Number(values.threads) : undefined,
    provider: values.provider as Provider | undefined,
  };
  const root = new URL("..", import.meta.url).pathname;
  const only = Boolean(values["only-models"]);
  const models: [string, () => Promise<ModelProto>, number][] = only
    ? []
    : [["tiny-rgb-32 (in memory)", () => Promise.resolve(tinyRgb(1)), 256]];
  const mobilenet = `${root}../shared/models/mobilenetv2-12-int8.onnx`;
  const paths = [...(values.model ?? [])];
  try {
    if (!only && Deno.statSync(mobilenet).isFile) paths.push(mobilenet);
  } catch {
    console.error(`bench: ${mobilenet} missing; MobileNetV2 skipped`);
  }
  try {
    for (const e of only ? [] : Deno.readDirSync(`${root}zoo/models`)) {
      if (e.name.endsWith(".onnx")) paths.push(`${root}zoo/models/${e.name}`);
    }
  } catch { /* no zoo models yet */ }
  for (const p of paths) {
    const big = values.batch ? Number(values.batch) : p.includes("mobilenet") ? 16 : 128;
    models.push([p, async () => decodeModel(await Deno.readFile(p), p), big]);
  }
  const results = [];
  for (const [name, load, bs] of models) {
    try {
      results.push(await benchModel(name, await load(), bs, opts));
    } catch (e) {
      results.push({ model: name, error: (e as Error).message });
    }
  }
  console.log(JSON.stringify({ runtime: runtimeIdentity(), opts, results }, null, 2));
}
