/**
 * The memo of evaluated subsets for one (image, model). `r` of a subset depends only on
 * (image, model, subset), so the beam search and every sub-explanation tree share one memo and
 * each distinct subset is sent to the model at most once, even when several searches ask for it at
 * the same time. It exports to flat typed arrays so mse-search can store it and subtree-count can
 * reuse every evaluation.
 */
import type { Scorer } from "./scorer.ts";
import { isSubsetOf, toMask } from "./patchset.ts";

/**
 * What "r" of a subset means. `paper`: r(S) = p(S) / p(I), the paper's. `gain`: r_g(S) =
 * (p(S) − p(∅)) / (p(I) − p(∅)), the share of the confidence the baseline lacks that S recovers,
 * for baselines that keep much of the class (28 px Fashion-MNIST). Where p(∅) ≈ 0 they coincide.
 */
export type RatioRule = "paper" | "gain";

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
  /** How r is defined; the paper's when absent. */
  ratio?: RatioRule;
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
    if (info.ratio !== undefined && info.ratio !== "paper" && info.ratio !== "gain") {
      throw new RangeError(`${where}: ratio must be "paper" or "gain", got ${info.ratio}`);
    }
    this.#scorer = scorer;
    this.info = { ...info };
  }

  /** Number of distinct subsets whose ratio is known. */
  get size(): number {
    return this.#known.size;
  }

  /** The known ratio of a subset (under the memo's rule), or undefined. Never calls the model. */
  get(subset: number): number | undefined {
    const r = this.#known.get(subset);
    if (r === undefined || this.info.ratio !== "gain") return r;
    const r0 = this.#known.get(EMPTY);
    return r0 === undefined ? undefined : gainRatio(r, r0);
  }

  /**
   * Ratios of the given subsets under the memo's rule, in order. Unknown subsets that no other
   * caller is already waiting for go to the scorer in one call (with the empty set, under `gain`,
   * until it is known). The paper's r = p_ĉ(x(m)) / p_full is what is stored, rounded to float32,
   * so a memo and its export/import copy compare against thresholds identically whatever the rule.
   */
  async ratios(subsets: readonly number[]): Promise<Float64Array> {
    if (this.info.ratio !== "gain") return await this.#paperRatios(subsets);
    const withEmpty = this.#known.has(EMPTY) ? subsets : [EMPTY, ...subsets];
    const r = await this.#paperRatios(withEmpty);
    const r0 = this.#known.get(EMPTY)!;
    const out = r.subarray(withEmpty.length - subsets.length);
    for (let i = 0; i < out.length; i++) out[i] = gainRatio(out[i], r0);
    return out;
  }

  /**
   * r(∅) = p_ĉ(B) / p_full, the paper's ratio of the baseline alone, whatever the memo's rule:
   * whether the baseline by itself already keeps the class.
   */
  async emptyRatio(): Promise<number> {
    return (await this.#paperRatios([EMPTY]))[0];
  }

  async #paperRatios(subsets: readonly number[]): Promise<Float64Array> {
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

  /** Every known (subset, paper ratio), ascending by subset. */
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

/** The empty subset: the baseline alone. */
const EMPTY = 0;

/**
 * r_g from paper ratios: (r − r0) / (1 − r0) = (p − p∅) / (p_full − p∅). NaN where the baseline is
 * at least as confident as the full image (nothing left to recover; the search stops before).
 */
function gainRatio(r: number, r0: number): number {
  return r0 < 1 ? (r - r0) / (1 - r0) : NaN;
}
