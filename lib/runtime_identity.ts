/**
 * What can change a model's numbers without any code or input changing: the onnxruntime version
 * and the execution provider a session actually got. Declared here, below both the runtime that
 * finds it and the engine that keys caches on it, so that the two agree on one type.
 */

/** An onnxruntime execution provider a config may ask for; CPU is always the last resort. */
export type Provider = "cuda" | "tensorrt" | "cpu";

/** Every provider, in the order a config lists its choices. */
export const providers: readonly Provider[] = ["cuda", "tensorrt", "cpu"];

export interface RuntimeIdentity {
  ortVersion: string;
  provider: Provider;
}
