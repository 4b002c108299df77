/**
 * The memo of evaluated subsets for one (image, model). `r` of a subset depends only on
 * (image, model, subset), so the beam search and every sub-explanation tree share one memo and
 * each distinct subset is sent to the model at most once, even when several searches ask for it at
 * the same time. It exports to flat typed arrays so mse-search can store it and subtree-count can
 * reuse every evaluation.
 */
import type { Scorer } from "./scorer.ts";
import { isSubsetOf, toMask } from "./patchset.ts";

/** What a memo scores: one image, its predicted class and full-image probability, one grid. */
export interface MemoInfo {
  /** Image index, as the scorer knows it. */
  image: number;
  /** ĉ, the class predicted on the full image. */
  cls: number;
  /** p_ĉ of the full image: r = p / pFull. */
  pFull: number;
  /** Grid side (7 for the paper). */
  grid: number;
}

/** A memo as flat arrays, ascending by key: what the pipeline writes as `.npy`. */
export interface MemoData {
  keys: Float64Array;
  ratios: Float32Array;
}

export class Memo {
  readonly info: Readonly<MemoInfo>;
  /** Subsets sent to the model. */
  evaluations = 0;
  /** Requested subsets answered without sending them (known, in flight, or repeated in a call). */
  hits = 0;
  /** Subsets requested, duplicates included: always `evaluations + hits`. */
  requests = 0;
  /** Calls made to the scorer. */
  scorerCalls = 0;
  readonly #scorer: Scorer;
  readonly #known = new Map<number, number>();
  readonly #inFlight = new Map<number, Promise<void>>();

  constructor(scorer: Scorer, info: MemoInfo) {
    const where = `memo(image ${info.image})`;
    if (!Number.isInteger(info.grid) || info.grid < 1 || info.grid * info.grid > 53) {
      throw new RangeError(`${where}: grid must be an integer with grid^2 <= 53, got ${info.grid}`);
    }
    if (!(info.pFull > 0 && info.pFull <= 1)) {
      throw new RangeError(`${where}: pFull must be in (0, 1], got ${info.pFull}`);
    }
    if (!Number.isInteger(info.cls) || info.cls < 0) {
      throw new RangeError(`${where}: cls must be a non-negative integer, got ${info.cls}`);
    }
    this.#scorer = scorer;
    this.info = { ...info };
  }

  /** Number of distinct subsets whose ratio is known. */
  get size(): number {
    return this.#known.size;
  }

  /** The known ratio of a subset, or undefined. Never calls the model. */
  get(subset: number): number | undefined {
    return this.#known.get(subset);
  }

  /**
   * Ratios r = p_ĉ(x(m)) / p_full of the given subsets, in order. Unknown subsets that no other
   * caller is already waiting for go to the scorer in one call. Ratios are rounded to float32 when
   * stored, so a memo and its export/import copy compare against thresholds identically.
   */
  async ratios(subsets: readonly number[]): Promise<Float64Array> {
    const n = this.info.grid * this.info.grid;
    const ask: number[] = [];
    const asked = new Set<number>();
    const waits = new Set<Promise<void>>();
    for (const s of subsets) {
      if (!isSubsetOf(s, n)) {
        throw new RangeError(
          `memo(image ${this.info.image}): ${s} is not a subset of a ${n}-patch grid`,
        );
      }
    }
    for (const s of subsets) {
      this.requests++;
      if (this.#known.has(s)) {
        this.hits++;
      } else if (this.#inFlight.has(s)) {
        this.hits++;
        waits.add(this.#inFlight.get(s)!);
      } else if (asked.has(s)) {
        this.hits++;
      } else {
        asked.add(s);
        ask.push(s);
      }
    }
    if (ask.length > 0) {
      this.evaluations += ask.length;
      this.scorerCalls++;
      const { image, cls, grid, pFull } = this.info;
      const call = this.#scorer.score(ask.map((s) => ({ image, cls, mask: toMask(s, grid) })))
        .then((probs) => {
          if (probs.length !== ask.length) {
            throw new Error(
              `memo(image ${image}): scorer returned ${probs.length} scores for ${ask.length} masks`,
            );
          }
          for (let i = 0; i < ask.length; i++) {
            if (!Number.isFinite(probs[i])) {
              throw new Error(
                `memo(image ${image}): scorer returned ${probs[i]} for subset ${ask[i]}`,
              );
            }
          }
          for (let i = 0; i < ask.length; i++) {
            this.#known.set(ask[i], Math.fround(probs[i] / pFull));
          }
        })
        .finally(() => {
          for (const s of ask) this.#inFlight.delete(s);
        });
      for (const s of ask) this.#inFlight.set(s, call);
      waits.add(call);
    }
    await Promise.all(waits);
    const out = new Float64Array(subsets.length);
    for (let i = 0; i < subsets.length; i++) {
      const r = this.#known.get(subsets[i]);
      if (r === undefined) {
        throw new Error(`memo(image ${this.info.image}): subset ${subsets[i]} was never scored`);
      }
      out[i] = r;
    }
    return out;
  }

  /** One subset's ratio. */
  async ratio(subset: number): Promise<number> {
    return (await this.ratios([subset]))[0];
  }

  /** Every known (subset, ratio), ascending by subset. */
  export(): MemoData {
    const keys = Float64Array.from(this.#known.keys()).sort();
    const ratios = new Float32Array(keys.length);
    for (let i = 0; i < keys.length; i++) ratios[i] = this.#known.get(keys[i])!;
    return { keys, ratios };
  }

  /**
   * Adds stored evaluations (from `export`, possibly via `.npy`). Counters do not change: these
   * subsets were paid for elsewhere. A key already known with another ratio is an error.
   */
  import(data: MemoData, source = "memo data"): void {
    if (data.keys.length !== data.ratios.length) {
      throw new RangeError(
        `${source}: ${data.keys.length} keys but ${data.ratios.length} ratios`,
      );
    }
    const n = this.info.grid * this.info.grid;
    for (let i = 0; i < data.keys.length; i++) {
      const s = data.keys[i];
      const r = Math.fround(data.ratios[i]);
      if (!isSubsetOf(s, n)) {
        throw new RangeError(`${source}: key ${i} (${s}) is not a subset of a ${n}-patch grid`);
      }
      if (!Number.isFinite(r)) throw new RangeError(`${source}: ratio ${i} is ${r}`);
      const old = this.#known.get(s);
      if (old !== undefined && old !== r) {
        throw new Error(`${source}: key ${s} has ratio ${r} but the memo holds ${old}`);
      }
      this.#known.set(s, r);
    }
  }

  /** A memo pre-filled from stored data. */
  static from(scorer: Scorer, info: MemoInfo, data: MemoData, source?: string): Memo {
    const m = new Memo(scorer, info);
    m.import(data, source);
    return m;
  }
}
