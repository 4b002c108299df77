/**
 * The one interface every explanation core talks to. Cores never see files, caches or ONNX
 * Runtime: tests drive them with toy classifiers whose answers are known exactly.
 */

/** Probability of class `cls` for image `image` (an index the scorer knows) composed with `mask`. */
export interface ScoreRequest {
  /** Index of the image within the set the scorer was built for. */
  image: number;
  /**
   * Low-resolution mask, row-major, side `sqrt(mask.length)` (7x7 for MSEs, 28x28 for insertion).
   * 1 reveals the image, 0 shows the baseline: x = I*U(m) + B*(1-U(m)).
   */
  mask: Float32Array;
  /** Class whose softmax probability is returned. */
  cls: number;
}

/**
 * Scores masks for one model. Implementations coalesce concurrent calls into full batches; the
 * result of each call is in the order of its requests, whatever else is in flight.
 */
export interface Scorer {
  score(requests: readonly ScoreRequest[]): Promise<Float32Array>;
}

/**
 * Input gradients for one model, for gradient-based explanations (iGOS++, I-GOS).
 * `x` is a batch of `n` inputs in the model's normalised space, NCHW, flattened.
 */
export interface GradientModel {
  /** [channels, height, width] of one input. */
  readonly inputShape: readonly [number, number, number];
  /** Softmax probability of `cls[i]` for each row, without gradients. */
  probs(x: Float32Array, n: number, cls: Int32Array): Promise<Float32Array>;
  /** Probability of `cls[i]` and its gradient with respect to `x` (same layout as `x`). */
  probsAndGrad(
    x: Float32Array,
    n: number,
    cls: Int32Array,
  ): Promise<{ probs: Float32Array; grad: Float32Array }>;
}
