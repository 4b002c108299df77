/**
 * One Scorer per model, shared by the units of a stage that are in flight at once. A chunk's
 * searches end in a tail of sequential probes from its last few images; on a shared Scorer those
 * masks ride in the next chunk's full batches instead of going out as runs of a few masks each.
 * The model's session is also opened once per stage, not once per chunk.
 */
import type { Config } from "../../configs/schema.ts";
import type { Scorer } from "../../explain/scorer.ts";
import type { UpsampleMode } from "../../explain/upsample.ts";
import type { ModelSpec } from "../../runtime/registry.ts";
import type { OnnxScorer, ScorerStats } from "../../runtime/onnx_scorer.ts";
import { chunkImages, createScorer } from "./open_scorer.ts";
import type { ChunkTensors } from "./tensors.ts";

/** A chunk's hold on a shared Scorer: its images' indices there, until `release`. */
export interface ScorerLease {
  scorer: Scorer;
  /** Index in `scorer` of each of the chunk's images. */
  images: number[];
  /** Of the shared Scorer: every unit's masks since it opened. */
  stats(): ScorerStats;
  release(): Promise<void>;
}

interface Entry {
  scorer: Promise<OnnxScorer>;
  leases: number;
}

/** Opens Scorers on demand; an idle one is closed when another model is asked for, or at close. */
export class ScorerPool {
  readonly #entries = new Map<string, Entry>();

  async lease(
    m: ModelSpec,
    chunk: ChunkTensors,
    config: Config,
    mode: UpsampleMode,
    maskSides?: number[],
  ): Promise<ScorerLease> {
    const key = JSON.stringify([m.id, m.onnx, mode, maskSides ?? null]);
    for (const [k, e] of this.#entries) {
      if (k !== key && e.leases === 0) {
        this.#entries.delete(k);
        await (await e.scorer).release();
      }
    }
    const existing = this.#entries.get(key);
    const e: Entry = existing ??
      { scorer: createScorer(m, chunk, config, mode, maskSides), leases: 0 };
    if (!existing) this.#entries.set(key, e);
    e.leases++;
    let s: OnnxScorer;
    try {
      s = await e.scorer;
    } catch (err) {
      e.leases--;
      if (this.#entries.get(key) === e) this.#entries.delete(key);
      throw err;
    }
    // The lease that opened the Scorer created it with the chunk's images, as 0..n-1.
    let images = chunk.items.map((_, k) => k);
    if (existing) {
      const { images: added, baselines } = chunkImages(chunk);
      images = s.addImages(added, baselines);
    }
    let released = false;
    return {
      scorer: s,
      images,
      stats: () => s.stats(),
      release: () => {
        if (released) return Promise.resolve();
        released = true;
        s.removeImages(images);
        e.leases--;
        return Promise.resolve();
      },
    };
  }

  /** Releases every Scorer; leases still held become unusable. */
  async close(): Promise<void> {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    for (const e of entries) {
      const s = await e.scorer.catch(() => undefined);
      await s?.release();
    }
  }
}

/** A stage's pool: its `open`/`close` hooks, and leases that also work without them. */
export interface StagePool {
  open(): Promise<void>;
  close(): Promise<void>;
  lease(...args: Parameters<ScorerPool["lease"]>): Promise<ScorerLease>;
}

export function stagePool(): StagePool {
  let pool: ScorerPool | undefined;
  return {
    open() {
      pool = new ScorerPool();
      return Promise.resolve();
    },
    async close() {
      await pool?.close();
      pool = undefined;
    },
    async lease(...args) {
      if (pool) return await pool.lease(...args);
      // A unit run on its own (a test, a cluster task): a pool of one, closed with the lease.
      const own = new ScorerPool();
      const l = await own.lease(...args);
      return {
        ...l,
        release: async () => {
          await l.release();
          await own.close();
        },
      };
    },
  };
}
