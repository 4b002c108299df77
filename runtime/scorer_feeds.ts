/**
 * The wrapper graph's inputs (runtime/onnx/wrapper.ts) as ONNX Runtime tensors. A batch ships
 * its masks, classes and image indices, and each image its masks use once, packed into buffers
 * reused from batch to batch; the upsampling matrices are fed per mask side.
 */
import * as ort from "onnxruntime-node";
import type { ScoreRequest } from "../explain/scorer.ts";
import type { UpsampleMode } from "../explain/upsample.ts";
import { upsampleMatrices } from "./onnx/wrapper.ts";

export type Feeds = Record<string, ort.Tensor>;

/** The `up_y`/`up_xt` feeds that upsample masks of side `side` to the image. */
export type UpsampleFeeds = { up_y: ort.Tensor; up_xt: ort.Tensor };

export function upsampleFeeds(
  side: number,
  [, h, w]: readonly [number, number, number],
  mode: UpsampleMode,
): UpsampleFeeds {
  const { upY, upXT } = upsampleMatrices(side, h, w, mode);
  return {
    up_y: new ort.Tensor("float64", upY, [h, side]),
    up_xt: new ort.Tensor("float64", upXT, [side, w]),
  };
}

/** Packs batches of requests into reused buffers, as the wrapper's feeds. */
export class BatchFeeds {
  readonly #shape: readonly [number, number, number];
  readonly #chw: number;
  readonly #diffs: Float32Array;
  readonly #baselines: Float32Array;
  readonly #index: BigInt64Array;
  readonly #cls: BigInt64Array;
  /** Mask buffers by mask length. */
  readonly #masks = new Map<number, Float32Array>();
  readonly #batchSize: number;
  /** Each image's position in the batch being packed, -1 when not in it. */
  #slot = new Int32Array(0);
  /** The images in the batch being packed, by position. */
  readonly #used: Int32Array;

  constructor(shape: readonly [number, number, number], batchSize: number) {
    this.#shape = shape;
    this.#chw = shape[0] * shape[1] * shape[2];
    this.#batchSize = batchSize;
    this.#diffs = new Float32Array(batchSize * this.#chw);
    this.#baselines = new Float32Array(batchSize * this.#chw);
    this.#index = new BigInt64Array(Math.max(batchSize, 2));
    this.#cls = new BigInt64Array(Math.max(batchSize, 2));
    this.#used = new Int32Array(batchSize);
  }

  /**
   * The feeds of `requests` (at most batchSize, masks of one size) and of only the images they
   * use: `diffs` and `baselines` hold every image by index. `upsample` is absent for the
   * full-resolution wrapper. The tensors view the buffers: valid until the next `pack`.
   */
  pack(
    requests: readonly ScoreRequest[],
    diffs: readonly Float32Array[],
    baselines: readonly Float32Array[],
    upsample?: UpsampleFeeds,
  ): Feeds {
    const n = requests.length;
    const maskLen = requests[0].mask.length;
    let masks = this.#masks.get(maskLen);
    if (!masks) {
      this.#masks.set(maskLen, masks = new Float32Array(Math.max(this.#batchSize, 2) * maskLen));
    }
    if (this.#slot.length < diffs.length) {
      const slot = new Int32Array(diffs.length).fill(-1);
      slot.set(this.#slot);
      this.#slot = slot;
    }
    const index32 = new Int32Array(this.#index.buffer);
    const cls32 = new Int32Array(this.#cls.buffer);
    const chw = this.#chw;
    let k = 0;
    for (let m = 0; m < n; m++) {
      const r = requests[m];
      let s = this.#slot[r.image];
      if (s < 0) {
        s = this.#slot[r.image] = k;
        this.#used[k] = r.image;
        this.#diffs.set(diffs[r.image], k * chw);
        this.#baselines.set(baselines[r.image], k * chw);
        k++;
      }
      index32[2 * m] = s;
      index32[2 * m + 1] = 0;
      cls32[2 * m] = r.cls;
      cls32[2 * m + 1] = 0;
      masks.set(r.mask, m * maskLen);
    }
    for (let i = 0; i < k; i++) this.#slot[this.#used[i]] = -1;
    // A lone mask runs as two identical rows: for one row onnxruntime's CPU MatMul takes another
    // kernel whose float32 sums differ in the last bit (seen on the zoo's LayerNorm ViTs), and a
    // mask's score must not depend on what else shares its batch, or a rerun could flip r > ph.
    const rows = n === 1 ? 2 : n;
    if (n === 1) {
      index32[2] = index32[0];
      index32[3] = 0;
      cls32[2] = cls32[0];
      cls32[3] = 0;
      masks.copyWithin(maskLen, 0, maskLen);
    }
    const [c, h, w] = this.#shape;
    const side = Math.round(Math.sqrt(maskLen));
    return {
      ...upsample,
      baselines: new ort.Tensor("float32", this.#baselines.subarray(0, k * chw), [k, c, h, w]),
      diffs: new ort.Tensor("float32", this.#diffs.subarray(0, k * chw), [k, c, h, w]),
      index: new ort.Tensor("int64", this.#index.subarray(0, rows), [rows]),
      masks: new ort.Tensor("float32", masks.subarray(0, rows * maskLen), [rows, 1, side, side]),
      cls: new ort.Tensor("int64", this.#cls.subarray(0, rows), [rows]),
    };
  }
}

/**
 * Feeds of `batch` fixed pseudo-random masks of side `side` over the first images, for timing a
 * batch size: what a real batch of that size costs, without callers.
 */
export function timingFeeds(
  batch: number,
  [c, h, w]: readonly [number, number, number],
  diffs: readonly Float32Array[],
  baselines: readonly Float32Array[],
  side: number,
  upsample?: UpsampleFeeds,
): Feeds {
  const chw = c * h * w;
  const k = Math.min(batch, diffs.length);
  const diff = new Float32Array(k * chw);
  const base = new Float32Array(k * chw);
  for (let i = 0; i < k; i++) {
    diff.set(diffs[i], i * chw);
    base.set(baselines[i], i * chw);
  }
  const masks = new Float32Array(batch * side * side);
  for (let i = 0; i < masks.length; i++) masks[i] = (i * 7919 % 13) / 12;
  return {
    ...upsample,
    baselines: new ort.Tensor("float32", base, [k, c, h, w]),
    diffs: new ort.Tensor("float32", diff, [k, c, h, w]),
    index: new ort.Tensor("int64", BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % k)), [
      batch,
    ]),
    masks: new ort.Tensor("float32", masks, [batch, 1, side, side]),
    cls: new ort.Tensor("int64", new BigInt64Array(batch), [batch]),
  };
}
