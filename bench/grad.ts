/**
 * Gradient-graph cost vs the forward pass, same model, same process, same batch: prints JSON
 * lines {model, batch, forwardMsPerImage, gradMsPerImage, ratio}. Target: ratio ≤ 3.
 *
 * usage: deno run -A bench/grad.ts [MODEL.onnx ...] [--batch B[,B...]] [--rounds R] [--provider P]
 * Without --batch: the batch the stages use for the model's input size on this machine's
 * provider. A list of batches prints one line per batch and model (a sweep).
 * Without paths: zoo/models/*.onnx and ../shared's MobileNetV2 (dequantised), where present.
 * A quantised model is differentiated through its float rewrite, so `forwardMsPerImage` is that
 * rewrite's forward; its own (int8) forward is timed too, in the same alternation
 * (`int8ForwardMsPerImage`, `ratioToInt8`).
 * `--provider P`: the sessions open on P alone (no fallback); each line says the provider used.
 */
import { parseArgs } from "node:util";
import { Rng } from "../lib/rng.ts";
import { createGradientModel } from "../runtime/grad_model.ts";
import { type Provider, providers } from "../lib/runtime_identity.ts";
import * as ort from "onnxruntime-node";
import { isQuantized } from "../runtime/onnx/dequantize.ts";
import { decodeModelSource } from "../runtime/onnx/load.ts";
import { createSession } from "../runtime/session.ts";

export interface BenchResult {
  model: string;
  /** The provider the gradient and forward sessions ran on. */
  provider: Provider;
  batch: number;
  forwardMsPerImage: number;
  gradMsPerImage: number;
  ratio: number;
  /** Median over rounds of (gradient block ms/image) / (adjacent forward block ms/image). */
  medianRoundRatio: number;
  /** Quantised models: the int8 model's own forward, and the gradient's cost against it. */
  int8ForwardMsPerImage?: number;
  ratioToInt8?: number;
}

/**
 * `rounds` alternations of a forward block and a gradient block of about `blockMs` each; each
 * block starts with one untimed call, so neither side pays for the other's cache and thread-pool
 * state, while slow drift of the machine falls on both. One untimed round comes first: a new
 * session's first gradient runs are about 3x its steady state (seen on convnext-ln: 330-350 ms
 * per batch in the first block, 100-110 ms after), which inflated the ratio by about 0.5.
 * `batch` defaults to the stage's batch.
 */
export async function benchGrad(
  path: string,
  batch?: number,
  rounds = 8,
  blockMs = 300,
  provider?: Provider,
): Promise<BenchResult> {
  const gm = await createGradientModel(path, {
    target: "prob",
    maxBatch: batch ?? "auto",
    ...(provider ? { providers: [provider], requireProvider: provider } : {}),
  });
  const b = gm.maxBatch;
  const int8 = isQuantized(await decodeModelSource(path))
    ? (await createSession(path, {
      providers: [gm.provider],
      ...(provider ? { requireProvider: provider } : {}),
    })).session
    : undefined;
  try {
    const per = gm.inputShape.reduce((a, c) => a * c, 1);
    const rng = new Rng(5);
    const x = Float32Array.from({ length: b * per }, () => rng.normal());
    const cls = Int32Array.from({ length: b }, (_, i) => i % 3);
    const block = async (f: () => Promise<unknown>) => {
      await f();
      let calls = 0;
      const t0 = performance.now();
      do {
        await f();
        calls++;
      } while (performance.now() - t0 < blockMs || calls < 2);
      return { ms: performance.now() - t0, images: calls * b };
    };
    const int8Run = int8 &&
      (() =>
        int8.run({ [int8.inputNames[0]]: new ort.Tensor("float32", x, [b, ...gm.inputShape]) }));
    await block(() => gm.logits(x, b));
    await block(() => gm.probsAndGrad(x, b, cls));
    if (int8Run) await block(int8Run);
    let fwdMs = 0, fwdImages = 0, gradMs = 0, gradImages = 0, int8Ms = 0, int8Images = 0;
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const f = await block(() => gm.logits(x, b));
      fwdMs += f.ms;
      fwdImages += f.images;
      const g = await block(() => gm.probsAndGrad(x, b, cls));
      gradMs += g.ms;
      gradImages += g.images;
      ratios.push((g.ms / g.images) / (f.ms / f.images));
      if (int8Run) {
        const q = await block(int8Run);
        int8Ms += q.ms;
        int8Images += q.images;
      }
    }
    ratios.sort((p, q) => p - q);
    const forwardMsPerImage = fwdMs / fwdImages, gradMsPerImage = gradMs / gradImages;
    return {
      model: path,
      provider: gm.provider,
      batch: b,
      forwardMsPerImage,
      gradMsPerImage,
      ratio: gradMsPerImage / forwardMsPerImage,
      medianRoundRatio: ratios[Math.floor(rounds / 2)],
      ...(int8Run
        ? {
          int8ForwardMsPerImage: int8Ms / int8Images,
          ratioToInt8: gradMsPerImage / (int8Ms / int8Images),
        }
        : {}),
    };
  } finally {
    await gm.release();
    await int8?.release();
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      batch: { type: "string" },
      rounds: { type: "string", default: "8" },
      provider: { type: "string" },
    },
  });
  const provider = values.provider as Provider | undefined;
  if (provider && !providers.includes(provider)) {
    throw new Error(`--provider: expected one of ${providers.join(", ")}, got "${provider}"`);
  }
  const batches = values.batch ? values.batch.split(",").map(Number) : [undefined];
  if (batches.some((b) => b !== undefined && !(Number.isInteger(b) && b > 0))) {
    throw new Error(`--batch: expected positive integers, got "${values.batch}"`);
  }
  const rounds = Number(values.rounds);
  let paths = positionals;
  if (paths.length === 0) {
    paths = [];
    try {
      for (const e of Deno.readDirSync("zoo/models")) {
        if (e.name.endsWith(".onnx")) paths.push(`zoo/models/${e.name}`);
      }
    } catch { /* no zoo models yet */ }
    paths.sort();
    const shared = "../shared/models/mobilenetv2-12-int8.onnx";
    try {
      Deno.statSync(shared);
      paths.push(shared);
    } catch { /* no ../shared */ }
  }
  for (const p of paths) {
    for (const batch of batches) {
      try {
        console.log(JSON.stringify(await benchGrad(p, batch, rounds, undefined, provider)));
      } catch (e) {
        console.log(JSON.stringify({ model: p, batch, error: (e as Error).message }));
      }
    }
  }
}
