/**
 * Gradient-graph cost vs the forward pass, same model, same process, same batch: prints JSON
 * lines {model, batch, forwardMsPerImage, gradMsPerImage, ratio}. Target: ratio ≤ 3.
 *
 * usage: deno run -A runtime/bench_grad.ts [MODEL.onnx ...] [--batch B] [--rounds R]
 * Without --batch: the batch igos-heatmaps uses for the model's input size.
 * Without paths: zoo/models/*.onnx and ../shared's MobileNetV2 (dequantised), where present.
 */
import { Rng } from "../explain/rng.ts";
import { createGradientModel, gradientBatchFor, sampleShape } from "./grad_model.ts";
import { decodeModel } from "./onnx/proto.ts";

export interface BenchResult {
  model: string;
  batch: number;
  forwardMsPerImage: number;
  gradMsPerImage: number;
  ratio: number;
}

/**
 * `rounds` alternations of `runs` forward calls and `runs` gradient calls, so machine noise falls
 * on both; the ratio is of the total times. `batch` defaults to the stage's gradient batch.
 */
export async function benchGrad(
  path: string,
  batch?: number,
  rounds = 10,
  runs = 3,
): Promise<BenchResult> {
  const b = batch ?? gradientBatchFor(sampleShape(decodeModel(await Deno.readFile(path), path)));
  const gm = await createGradientModel(path, { target: "prob", maxBatch: b });
  try {
    const per = gm.inputShape.reduce((a, c) => a * c, 1);
    const rng = new Rng(5);
    const x = Float32Array.from({ length: b * per }, () => rng.normal());
    const cls = Int32Array.from({ length: b }, (_, i) => i % 3);
    const fwd = () => gm.logits(x, b);
    const grad = () => gm.probsAndGrad(x, b, cls);
    await fwd(); // warm-up
    await grad();
    let fwdMs = 0, gradMs = 0;
    for (let r = 0; r < rounds; r++) {
      let t0 = performance.now();
      for (let i = 0; i < runs; i++) await fwd();
      fwdMs += performance.now() - t0;
      t0 = performance.now();
      for (let i = 0; i < runs; i++) await grad();
      gradMs += performance.now() - t0;
    }
    const calls = rounds * runs * b;
    return {
      model: path,
      batch: b,
      forwardMsPerImage: fwdMs / calls,
      gradMsPerImage: gradMs / calls,
      ratio: gradMs / fwdMs,
    };
  } finally {
    await gm.release();
  }
}

if (import.meta.main) {
  const args = [...Deno.args];
  const opt = (name: string, dflt: number) => {
    const i = args.indexOf(`--${name}`);
    if (i < 0) return dflt;
    const v = Number(args[i + 1]);
    args.splice(i, 2);
    return v;
  };
  const batch = opt("batch", 0) || undefined;
  const rounds = opt("rounds", 10);
  let paths = args;
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
    try {
      console.log(JSON.stringify(await benchGrad(p, batch, rounds)));
    } catch (e) {
      console.log(JSON.stringify({ model: p, error: (e as Error).message }));
    }
  }
}
