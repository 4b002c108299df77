/**
 * The real Scorer: many explanation searches call `score` at once with a few masks each; a
 * coalescer (request_coalescer.ts) packs them into full batches for one wrapper-graph session
 * (mask composition on the accelerator side), one run at a time, with a bounded queue so memory
 * stays flat however many callers there are. Masks at the image's own resolution go through a
 * second wrapper, built when first needed, that skips the upsampling.
 */
import { setImmediate } from "node:timers";
import type { Scorer, ScoreRequest } from "../explain/scorer.ts";
import type { UpsampleMode } from "../explain/upsample.ts";
import type { Provider } from "../lib/runtime_identity.ts";
import { loadModel, type ModelSource } from "./onnx/load.ts";
import type { ModelProto } from "./onnx/proto.ts";
import { wrapModelBytes } from "./onnx/wrapper.ts";
import { Coalescer } from "./request_coalescer.ts";
import { tuneBatchSize } from "./scorer_batch_tuning.ts";
import { BatchFeeds, type Feeds, type UpsampleFeeds, upsampleFeeds } from "./scorer_feeds.ts";
import { ScorerImages } from "./scorer_images.ts";
import { createSession, type RunSession, type SessionOptions } from "./session.ts";
import { WorkerSession } from "./worker_session.ts";

export interface ScorerOptions {
  /** Masks per ORT run, or "auto": time `autoCandidates` on startup and keep the fastest. */
  batchSize: number | "auto";
  /** Cap on queued (not yet batched) masks; callers wait while it is full. */
  maxQueued: number;
  mode: UpsampleMode;
  session: Partial<SessionOptions>;
  autoCandidates: number[];
  /** Total seconds the "auto" search may spend. */
  autoSeconds: number;
  /** Mask side used by the "auto" search. */
  autoMaskSide: number;
  /**
   * Run the session on a worker thread (runtime/worker_session.ts), so that callers' search work
   * overlaps the runs instead of alternating with them. Pays off where callers do work between
   * batches (mse-search, subtree-count); costs a thread start (about 70 ms) per scorer.
   */
  offThread: boolean;
  /**
   * Mask sides the callers will use, when known. If every one is the image's own side (and the
   * image is small enough for the full-resolution wrapper), the upsampling wrapper is never built:
   * one session instead of two (cross-test opens one scorer per unit).
   */
  maskSides?: number[];
}

export const defaults: ScorerOptions = {
  batchSize: 64,
  maxQueued: 8192,
  mode: "bilinear",
  session: {},
  autoCandidates: [16, 32, 64, 128, 256],
  autoSeconds: 3,
  autoMaskSide: 7,
  offThread: false,
};

export interface ScorerStats {
  /** Masks scored since creation (or `resetStats`). */
  masks: number;
  /** ORT runs. */
  batches: number;
  /** Mean masks per run divided by `batchSize`, in [0, 1]. */
  meanBatchFill: number;
  /** Seconds inside session runs (from the runtime's start of the run to its result). */
  busySeconds: number;
  /** Seconds since the first `score` call after creation (or `resetStats`). */
  wallSeconds: number;
  /** busySeconds / wallSeconds. */
  utilisation: number;
  /** Most masks ever queued at once (never above `maxQueued`). */
  peakQueued: number;
  batchSize: number;
}

/** Largest H x W for which masks of side H = W go through the full-resolution wrapper. */
const FULL_RESOLUTION_MAX_PIXELS = 64 * 64;

/** What the full-resolution wrapper is built from, when first needed. */
interface FullResolutionSource {
  proto: ModelProto;
  session: Partial<SessionOptions>;
  offThread: boolean;
}

export class OnnxScorer implements Scorer {
  readonly #images: ScorerImages;
  readonly #coalescer: Coalescer<ScoreRequest>;
  readonly #feeds: BatchFeeds;
  readonly #upFeeds = new Map<number, UpsampleFeeds>();
  /** For masks at the image's resolution: the model, kept only for small inputs (see create). */
  readonly #fullSource?: FullResolutionSource;
  #fullSession?: Promise<RunSession>;
  /** Built for full-resolution masks only (`maskSides`): `session` is that wrapper. */
  readonly #onlyFull: boolean;
  // Counters.
  #masks = 0;
  #batches = 0;
  #busyMs = 0;
  #startMs = -1;

  private constructor(
    readonly session: RunSession,
    readonly provider: Provider,
    readonly inputShape: readonly [number, number, number],
    readonly classes: number,
    readonly mode: UpsampleMode,
    images: ScorerImages,
    batchSize: number,
    maxQueued: number,
    fullSource?: FullResolutionSource,
    onlyFull = false,
  ) {
    this.#images = images;
    this.#fullSource = fullSource;
    this.#onlyFull = onlyFull;
    if (onlyFull) this.#fullSession = Promise.resolve(session);
    this.#feeds = new BatchFeeds(inputShape, batchSize);
    this.#coalescer = new Coalescer<ScoreRequest>({
      batchSize,
      maxQueued,
      keyOf: (r) => r.mask.length,
      run: (maskLength, requests) => this.#run(maskLength, requests),
    });
  }

  /**
   * A scorer for `model` (bytes, path or ModelProto) over `images` (CHW float32 each, in the
   * model's normalised space) and their `baselines` (one per image, or one shared by all).
   */
  static async create(
    model: ModelSource,
    images: readonly Float32Array[],
    baselines: readonly Float32Array[] | Float32Array,
    options: Partial<ScorerOptions> = {},
  ): Promise<OnnxScorer> {
    const opts = { ...defaults, ...options };
    const { source, proto, inputShape, classes } = await loadModel(model);
    const [, h, w] = inputShape;
    const held = new ScorerImages(source, inputShape);
    held.add(images, baselines);
    // Masks at full resolution skip the upsampling GEMMs through a second, lazily built session;
    // worth its memory only where the model is small enough for the GEMMs to matter.
    const fullEligible = h === w && h * w <= FULL_RESOLUTION_MAX_PIXELS;
    const onlyFull = fullEligible && (opts.maskSides ?? []).length > 0 &&
      opts.maskSides!.every((side) => side === h);
    const { session, provider } = await openSession(
      wrapModelBytes(proto, { fullResolution: onlyFull }, source),
      opts.session,
      opts.offThread,
      source,
    );
    const size = opts.batchSize === "auto"
      ? await tuneBatchSize(session, inputShape, held.diffs, held.baselines, {
        candidates: opts.autoCandidates,
        seconds: opts.autoSeconds,
        maskSide: opts.autoMaskSide,
        mode: opts.mode,
      }, onlyFull)
      : opts.batchSize;
    if (!Number.isInteger(size) || size < 1) {
      throw new Error(`${source}: batchSize must be a positive integer or "auto", got ${size}`);
    }
    return new OnnxScorer(
      session,
      provider,
      inputShape,
      classes,
      opts.mode,
      held,
      size,
      opts.maxQueued,
      fullEligible ? { proto, session: opts.session, offThread: opts.offThread } : undefined,
      onlyFull,
    );
  }

  get batchSize(): number {
    return this.#coalescer.batchSize;
  }

  /**
   * Adds images (and their baselines, one each or one shared) for later requests and returns
   * their indices, so that one scorer serves the chunks of a model that are in flight at once and
   * the masks of one chunk's last searches share batches with the next chunk's.
   */
  addImages(
    images: readonly Float32Array[],
    baselines: readonly Float32Array[] | Float32Array,
  ): number[] {
    return this.#images.add(images, baselines);
  }

  /** Frees images no longer requested; their indices are not reused. */
  removeImages(indices: readonly number[]): void {
    this.#images.remove(indices);
  }

  score(requests: readonly ScoreRequest[]): Promise<Float32Array> {
    if (this.#startMs < 0) this.#startMs = performance.now();
    const n = requests.length;
    if (n === 0) return Promise.resolve(new Float32Array(0));
    const held = this.#images.count;
    for (let i = 0; i < n; i++) {
      const r = requests[i];
      if (!Number.isInteger(r.image) || r.image < 0 || r.image >= held) {
        return Promise.reject(
          new Error(`score: request ${i} has image ${r.image}; the scorer holds ${held}`),
        );
      }
      if (this.#images.isRemoved(r.image)) {
        return Promise.reject(new Error(`score: request ${i} has image ${r.image}, removed`));
      }
      const side = Math.round(Math.sqrt(r.mask.length));
      if (side * side !== r.mask.length || side === 0) {
        return Promise.reject(
          new Error(`score: request ${i} has a mask of ${r.mask.length} values, not a square grid`),
        );
      }
      if (this.#onlyFull && side !== this.inputShape[1]) {
        return Promise.reject(
          new Error(
            `score: request ${i} has a ${side}x${side} mask; this scorer was built for ` +
              `${this.inputShape[1]}x${this.inputShape[1]} masks only (maskSides)`,
          ),
        );
      }
      if (!Number.isInteger(r.cls) || r.cls < 0 || r.cls >= this.classes) {
        return Promise.reject(
          new Error(`score: request ${i} asks for class ${r.cls}; the model has ${this.classes}`),
        );
      }
    }
    return this.#coalescer.submit(requests);
  }

  /** The coalescer's batch runner: packs the batch's feeds and runs the session for its side. */
  #run(maskLength: number, requests: readonly ScoreRequest[]): Promise<Float32Array | Error> {
    const [, h, w] = this.inputShape;
    const side = Math.round(Math.sqrt(maskLength));
    const full = this.#fullSource !== undefined && side === h && side === w;
    const { diffs, baselines } = this.#images;
    const feeds = this.#feeds.pack(
      requests,
      diffs,
      baselines,
      full ? undefined : this.#upsampling(side),
    );
    return this.#execute(full, feeds, requests.length);
  }

  /** One session run; resolves to the probabilities or the error (never rejects). */
  async #execute(full: boolean, feeds: Feeds, n: number): Promise<Float32Array | Error> {
    let t0 = performance.now();
    try {
      const session = full ? await this.#fullResolution() : this.session;
      // onnxruntime-node starts the run in a setImmediate callback; one queued just before it
      // marks the real start, so callers' work still queued ahead does not count as busy.
      t0 = performance.now();
      setImmediate(() => t0 = performance.now());
      const out = await session.run(feeds, ["prob"]);
      this.#batches++;
      this.#masks += n;
      return out.prob.data as Float32Array;
    } catch (e) {
      return new Error(`score: ONNX Runtime run failed: ${(e as Error).message}`);
    } finally {
      this.#busyMs += performance.now() - t0;
    }
  }

  /** The full-resolution wrapper's session, built on first use. */
  #fullResolution(): Promise<RunSession> {
    if (!this.#fullSession) {
      const { proto, session, offThread } = this.#fullSource!;
      const bytes = wrapModelBytes(proto, { fullResolution: true });
      this.#fullSession = openSession(bytes, session, offThread, "<full-resolution wrapper>")
        .then((s) => s.session);
    }
    return this.#fullSession;
  }

  /** The `up_y`/`up_xt` feeds for masks of side `side`, built once per side. */
  #upsampling(side: number): UpsampleFeeds {
    let f = this.#upFeeds.get(side);
    if (!f) this.#upFeeds.set(side, f = upsampleFeeds(side, this.inputShape, this.mode));
    return f;
  }

  stats(): ScorerStats {
    const wall = this.#startMs < 0 ? 0 : (performance.now() - this.#startMs) / 1000;
    const busy = this.#busyMs / 1000;
    const batchSize = this.batchSize;
    return {
      masks: this.#masks,
      batches: this.#batches,
      meanBatchFill: this.#batches === 0 ? 0 : this.#masks / this.#batches / batchSize,
      busySeconds: busy,
      wallSeconds: wall,
      utilisation: wall > 0 ? busy / wall : 0,
      peakQueued: this.#coalescer.peakQueued,
      batchSize,
    };
  }

  resetStats(): void {
    this.#masks =
      this.#batches =
      this.#busyMs =
        0;
    this.#coalescer.resetPeakQueued();
    this.#startMs = -1;
  }

  async release(): Promise<void> {
    await this.session.release();
    if (this.#fullSession && !this.#onlyFull) await (await this.#fullSession).release();
  }
}

/** A session on this thread or on a worker. */
async function openSession(
  bytes: Uint8Array,
  options: Partial<SessionOptions>,
  offThread: boolean,
  source: string,
): Promise<{ session: RunSession; provider: Provider }> {
  if (!offThread) return await createSession(bytes, options);
  const session = await WorkerSession.create(bytes, options, source);
  return { session, provider: session.provider };
}
