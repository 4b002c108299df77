/**
 * The images a Scorer serves, by index: f32(I − B) (the wrapper's `diffs` input) and the
 * baseline B of each, checked against the model's C×H×W. Images are added while a scorer serves
 * (the chunks of a model in flight share one) and removed when done; indices are never reused.
 */
import { imageDiff } from "./onnx/wrapper.ts";

/** What a removed image's entries point to. */
const REMOVED = new Float32Array(0);

export class ScorerImages {
  /** f32(I − B) per image; empty once the image is removed. */
  readonly diffs: Float32Array[] = [];
  readonly baselines: Float32Array[] = [];

  /** `source` names the model in errors; `shape` is its input's C×H×W. */
  constructor(
    private readonly source: string,
    private readonly shape: readonly [number, number, number],
  ) {}

  /** Images held so far, removed ones included: the next index. */
  get count(): number {
    return this.diffs.length;
  }

  isRemoved(index: number): boolean {
    return this.diffs[index] === REMOVED;
  }

  /**
   * Adds images (CHW float32 each) and their baselines (one each, or one shared by all); returns
   * their indices. Throws, naming the model, when a size disagrees with the model's.
   */
  add(
    images: readonly Float32Array[],
    baselines: readonly Float32Array[] | Float32Array,
  ): number[] {
    const [c, h, w] = this.shape;
    const chw = c * h * w;
    const bases = baselines instanceof Float32Array ? images.map(() => baselines) : [...baselines];
    if (bases.length !== images.length) {
      throw new Error(`${this.source}: ${images.length} images but ${bases.length} baselines`);
    }
    images.forEach((im, i) => {
      if (im.length !== chw || bases[i].length !== chw) {
        throw new Error(
          `${this.source}: image ${i} or its baseline has ${im.length}/${
            bases[i].length
          } values; the model takes ${c}x${h}x${w} = ${chw}`,
        );
      }
    });
    const first = this.diffs.length;
    this.diffs.push(...images.map((im, i) => imageDiff(im, bases[i])));
    this.baselines.push(...bases);
    return images.map((_, k) => first + k);
  }

  /** Frees images no longer requested; their indices are not reused. */
  remove(indices: readonly number[]): void {
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= this.diffs.length) {
        throw new RangeError(
          `removeImages: no image ${i} (the scorer has had ${this.diffs.length})`,
        );
      }
      this.diffs[i] = this.baselines[i] = REMOVED;
    }
  }
}
