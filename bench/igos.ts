/**
 * Seconds per image of igosBatch on any GradientModel, separating the time spent awaiting the
 * model from the TypeScript side (composition, noise, chain rule). Run directly for a toy model:
 *   deno run -A bench/igos.ts [--images 2] [--size 224] [--iterations 20] [--steps 20]
 * The lead reruns `benchIgos` with zoo models.
 */
import { igosBatch, type IgosCounters, type IgosItem, type IgosOptions } from "../explain/igos.ts";
import { Rng } from "../lib/rng.ts";
import type { GradientModel } from "../explain/scorer.ts";
import { regionModel } from "../explain/testing/toy_models.ts";

export interface BenchResult {
  images: number;
  secondsPerImage: number;
  /** Part of secondsPerImage spent awaiting the model. */
  modelSecondsPerImage: number;
  /** Rows through the model per image (gradient + forward). */
  rowsPerImage: number;
  counters: IgosCounters;
}

/** Times one igosBatch call over `items`. */
export async function benchIgos(
  model: GradientModel,
  items: readonly IgosItem[],
  options: Partial<IgosOptions> = {},
): Promise<BenchResult> {
  if (items.length === 0) throw new Error("bench/igos.ts: no items");
  const { counters } = await igosBatch(items, model, options);
  const n = items.length;
  return {
    images: n,
    secondsPerImage: counters.seconds / n,
    modelSecondsPerImage: counters.modelSeconds / n,
    rowsPerImage: (counters.gradientEvaluations + counters.forwardEvaluations) / n,
    counters,
  };
}

/** A cheap two-class toy at a real input size, with evidence in the central quarter. */
export function toyBench(images: number, size = 224, seed = 0) {
  const shape = [3, size, size] as const;
  const q = Math.floor(size / 4);
  const region = { y0: q, y1: size - q, x0: q, x1: size - q };
  const count = 3 * (size - 2 * q) ** 2;
  const model = regionModel(shape, region, 9.2 / count, -4.6);
  const rng = new Rng(seed);
  const items: IgosItem[] = Array.from({ length: images }, (_, i) => {
    const image = Float32Array.from(
      { length: 3 * size * size },
      () => (rng.next() - 0.45) / 0.25 + 1,
    );
    return { image, baseline: new Float32Array(image.length), cls: 0, id: i };
  });
  return { model, items };
}

function arg(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

if (import.meta.main) {
  const { model, items } = toyBench(arg("images", 2), arg("size", 224));
  const result = await benchIgos(model, items, {
    iterations: arg("iterations", 20),
    steps: arg("steps", 20),
  });
  console.log(JSON.stringify(result, null, 2));
}
