/**
 * Gradient-graph cost vs the forward pass, same model, same process, same batch: prints JSON
 * lines {model, batch, forwardMsPerImage, gradMsPerImage, ratio}. Target: ratio ≤ 3.
 *
 * usage: deno run -A runtime/bench_grad.ts [MODEL.onnx ...] [--batch B] [--reps R]
 * Without paths: zoo/models/*.onnx and ../shared's MobileNetV2 (dequantised), where present.
 */
import { Rng } from "../explain/rng.ts";
import { createGradientModel } from "./grad_model.ts";

export interface BenchResult {
  model: string;
  batch: number;
  forwardMsPerImage: number;
  gradMsPerImage: number;
  ratio: number;
}

export async function benchGrad(path: string, batch = 8, reps = 3): Promise<BenchResult> {
  const gm = await createGradientModel(path, { target: "prob", maxBatch: batch });
  try {
    const per = gm.inputShape.reduce((a, b) => a * b, 1);
    const rng = new Rng(5);
    const x = Float32Array.from({ length: batch * per }, () => rng.normal());
    const cls = Int32Array.from({ length: batch }, (_, i) => i % 3);
    const time = async (f: () => Promise<unknown>) => {
      await f(); // warm-up
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) await f();
      return (performance.now() - t0) / reps / batch;
    };
    const fwd = await time(() => gm.logits(x, batch));
    const grad = await time(() => gm.probsAndGrad(x, batch, cls));
    return { model: path, batch, forwardMsPerImage: fwd, gradMsPerImage: grad, ratio: grad / fwd };
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
  const batch = opt("batch", 8);
  const reps = opt("reps", 3);
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
      console.log(JSON.stringify(await benchGrad(p, batch, reps)));
    } catch (e) {
      console.log(JSON.stringify({ model: p, error: (e as Error).message }));
    }
  }
}
