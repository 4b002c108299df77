/** A model opened for input gradients (iGOS++, I-GOS, gradient saliency). */
import type { Config } from "../../configs/schema.ts";
import type { GradientModel } from "../../explain/scorer.ts";
import { createGradientModel } from "../../runtime/grad_model.ts";
import type { ModelSpec } from "../../runtime/registry.ts";

export interface OpenGradient extends GradientModel {
  /** Rows per session run, chosen for the provider the model got. */
  maxBatch: number;
  close(): Promise<void>;
}

export async function openGradientModel(m: ModelSpec, config: Config): Promise<OpenGradient> {
  const bytes = await Deno.readFile(m.onnx);
  const g = await createGradientModel(bytes, {
    target: "prob",
    maxBatch: "auto",
    providers: config.runtime.providers,
    requireProvider: config.runtime.requireProvider,
    threads: config.runtime.threads,
  });
  return {
    inputShape: g.inputShape,
    maxBatch: g.maxBatch,
    probs: (x, n, cls) => g.probs(x, n, cls),
    probsAndGrad: (x, n, cls) => g.probsAndGrad(x, n, cls),
    close: () => g.release(),
  };
}
