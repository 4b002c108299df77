/**
 * The real Scorer: many explanation searches call `score` at once with a few masks each; this
 * coalesces them into full batches for one wrapper-graph session (mask composition on the
 * accelerator side), one run at a time, with a bounded queue so memory stays flat however many
 * callers there are.
 */
import type { Provider } from "../lib/runtime_identity.ts";
import { setImmediate } from "node:timers";
import * as ort from "onnxruntime-node";
import type { Scorer, ScoreRequest } from "../explain/scorer.ts";
import type { UpsampleMode } from "../explain/upsample.ts";
import { loadModel, type ModelSource } from "./onnx/load.ts";
import type { ModelProto } from "./onnx/proto.ts";
import { imageDiff, upsampleMatrices, wrapModelBytes } from "./onnx/wrapper.ts";
import { createSession, type SessionOptions } from "./session.ts";
import { type RunSession, WorkerSession } from "./worker_session.ts";

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

interface Call {
  out: Float32Array;
  remaining: number;
  failed: boolean;
  resolve: (v: Float32Array) => void;
  reject: (e: Error) => void;
}

/** Consecutive requests of one call with one mask side, not yet batched from `start` on. */
interface Segment {
  call: Call;
  requests: readonly ScoreRequest[];
  start: number;
  end: number;
}

/** A slice of a segment that went into the current batch at `offset`. */
interface Piece {
  call: Call;
  start: number;
  length: number;
  offset: number;
}

interface Buffers {
  diffs: Float32Array;
  baselines: Float32Array;
  index: BigInt64Array;
  cls: BigInt64Array;
  masks: Map<number, Float32Array>;
}

/** A packed batch: its feeds, where its results go, and its mask count. */
interface Batch {
  /** Masks at the image's resolution, for the full-resolution session. */
  full: boolean;
  feeds: Record<string, ort.Tensor>;
  pieces: Piece[];
  n: number;
}

/** What a removed image's entries point to. */
const REMOVED = new Float32Array(0);

/** Checks images and baselines against the model's C x H x W; returns f32(I − B) and baselines. */
function checkedImages(
  source: string,
  [c, h, w]: readonly [number, number, number],
  images: readonly Float32Array[],
  baselines: readonly Float32Array[] | Float32Array,
): { diffs: Float32Array[]; bases: Float32Array[] } {
  const chw = c * h * w;
  const bases = baselines instanceof Float32Array ? images.map(() => baselines) : [...baselines];
  if (bases.length !== images.length) {
    throw new Error(`${source}: ${images.length} images but ${bases.length} baselines`);
  }
  images.forEach((im, i) => {
    if (im.length !== chw || bases[i].length !== chw) {
      throw new Error(
        `${source}: image ${i} or its baseline has ${im.length}/${
          bases[i].length
        } values; the model takes ${c}x${h}x${w} = ${chw}`,
      );
    }
  });
  return { diffs: images.map((im, i) => imageDiff(im, bases[i])), bases };
}

/** Largest H x W for which masks of side H = W go through the full-resolution wrapper. */
const FULL_RESOLUTION_MAX_PIXELS = 64 * 64;

export class OnnxScorer implements Scorer {
  /** f32(I − B) per image: the wrapper's `diffs` input. Empty once an image is removed. */
  readonly #diffs: Float32Array[];
  readonly #baselines: Float32Array[];
  readonly #chw: number;
  readonly #source: string;
  readonly #queues = new Map<number, { segments: Segment[]; head: number; count: number }>();
  #slot: Int32Array;
  readonly #used: Int32Array;
  readonly #maxQueued: number;
  #buffers: Buffers;
  /**
   * Where each caller's slice of a batch goes, for the two batches alive at once: the one just
   * run, still to be delivered, and the next, already packed and running.
   */
  readonly #pieces: [Piece[], Piece[]] = [[], []];
  #turn = 0;
  #batchSize: number;
  #queued = 0;
  #running = false;
  #flushDue = false;
  #tickScheduled = false;
  #spaceWaiters: (() => void)[] = [];
  readonly #upFeeds = new Map<number, UpsampleFeeds>();
  /** For masks at the image's resolution: the model, kept only for small inputs (see create). */
  readonly #fullSource?: {
    proto: ModelProto;
    session: Partial<SessionOptions>;
    offThread: boolean;
  };
  #fullSession?: Promise<RunSession>;
  /** Built for full-resolution masks only (`maskSides`): `session` is that wrapper. */
  readonly #onlyFull: boolean;
  // Counters.
  #masks = 0;
  #batches = 0;
  #busyMs = 0;
  #startMs = -1;
  #peakQueued = 0;

  private constructor(
    readonly session: RunSession,
    readonly provider: Provider,
    readonly inputShape: readonly [number, number, number],
    readonly classes: number,
    readonly mode: UpsampleMode,
    diffs: Float32Array[],
    baselines: Float32Array[],
    batchSize: number,
    maxQueued: number,
    source: string,
    fullSource?: { proto: ModelProto; session: Partial<SessionOptions>; offThread: boolean },
    onlyFull = false,
  ) {
    this.#source = source;
    this.#fullSource = fullSource;
    this.#onlyFull = onlyFull;
    if (onlyFull) this.#fullSession = Promise.resolve(session);
    this.#diffs = diffs;
    this.#baselines = baselines;
    this.#chw = inputShape[0] * inputShape[1] * inputShape[2];
    this.#slot = new Int32Array(diffs.length).fill(-1);
    this.#batchSize = batchSize;
    this.#used = new Int32Array(batchSize);
    this.#maxQueued = Math.max(maxQueued, 1);
    this.#buffers = this.#allocate(batchSize);
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
    const { source, proto, inputShape: [c, h, w], classes } = await loadModel(model);
    const { diffs, bases } = checkedImages(source, [c, h, w], images, baselines);
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
      ? await tuneBatchSize(session, [c, h, w], diffs, bases, opts, onlyFull)
      : opts.batchSize;
    if (!Number.isInteger(size) || size < 1) {
      throw new Error(`${source}: batchSize must be a positive integer or "auto", got ${size}`);
    }
    return new OnnxScorer(
      session,
      provider,
      [c, h, w],
      classes,
      opts.mode,
      diffs,
      bases,
      size,
      opts.maxQueued,
      source,
      fullEligible ? { proto, session: opts.session, offThread: opts.offThread } : undefined,
      onlyFull,
    );
  }

  get batchSize(): number {
    return this.#batchSize;
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
    const { diffs, bases } = checkedImages(this.#source, this.inputShape, images, baselines);
    const first = this.#diffs.length;
    this.#diffs.push(...diffs);
    this.#baselines.push(...bases);
    const slot = new Int32Array(this.#diffs.length).fill(-1);
    slot.set(this.#slot);
    this.#slot = slot;
    return diffs.map((_, k) => first + k);
  }

  /** Frees images no longer requested; their indices are not reused. */
  removeImages(indices: readonly number[]): void {
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= this.#diffs.length) {
        throw new RangeError(
          `removeImages: no image ${i} (the scorer has had ${this.#diffs.length})`,
        );
      }
      this.#diffs[i] = this.#baselines[i] = REMOVED;
    }
  }

  score(requests: readonly ScoreRequest[]): Promise<Float32Array> {
    if (this.#startMs < 0) this.#startMs = performance.now();
    const n = requests.length;
    if (n === 0) return Promise.resolve(new Float32Array(0));
    for (let i = 0; i < n; i++) {
      const r = requests[i];
      if (!Number.isInteger(r.image) || r.image < 0 || r.image >= this.#diffs.length) {
        return Promise.reject(
          new Error(
            `score: request ${i} has image ${r.image}; the scorer holds ${this.#diffs.length}`,
          ),
        );
      }
      if (this.#diffs[r.image] === REMOVED) {
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
    let call!: Call;
    const promise = new Promise<Float32Array>((resolve, reject) => {
      call = { out: new Float32Array(n), remaining: n, failed: false, resolve, reject };
    });
    this.#enqueue(call, requests).catch((e) => {
      call.failed = true;
      call.reject(e);
    });
    return promise;
  }

  async #enqueue(call: Call, requests: readonly ScoreRequest[]): Promise<void> {
    let i = 0;
    const n = requests.length;
    while (i < n) {
      while (this.#queued >= this.#maxQueued) {
        await new Promise<void>((r) => this.#spaceWaiters.push(r));
      }
      const room = this.#maxQueued - this.#queued;
      const len = requests[i].mask.length;
      let j = i + 1;
      while (j < n && j - i < room && requests[j].mask.length === len) j++;
      let q = this.#queues.get(len);
      if (!q) this.#queues.set(len, q = { segments: [], head: 0, count: 0 });
      q.segments.push({ call, requests, start: i, end: j });
      q.count += j - i;
      this.#queued += j - i;
      if (this.#queued > this.#peakQueued) this.#peakQueued = this.#queued;
      i = j;
      this.#kick();
    }
  }

  /** Runs full batches now; partial ones after a macrotask, so same-tick callers share them. */
  #kick(): void {
    if (this.#running) return;
    for (const q of this.#queues.values()) {
      if (q.count >= this.#batchSize) {
        this.#pump();
        return;
      }
    }
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#tickScheduled || this.#queued === 0) return;
    this.#tickScheduled = true;
    setImmediate(() => {
      this.#tickScheduled = false;
      this.#flushDue = true;
      this.#pump();
    });
  }

  /**
   * Runs batches one at a time. As soon as a run ends, the next full batch is packed and started
   * before the finished batch's results are delivered, so a runtime that runs sessions off the JS
   * thread overlaps the callers' work on those results with the next run. (onnxruntime-node 1.30
   * runs them on the JS thread, in a setImmediate callback: there the order changes nothing.)
   */
  async #pump(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      let batch = this.#take(true);
      let run = batch && this.#execute(batch);
      while (batch && run) {
        const out = await run;
        const next = this.#take(false);
        const nextRun = next && this.#execute(next);
        this.#deliver(batch, out);
        batch = next;
        run = nextRun;
      }
    } finally {
      this.#running = false;
    }
    // A partial batch waits one macrotask, so that every caller woken by the last delivery has
    // run its microtasks and enqueued its next masks first.
    this.#flushDue = false;
    this.#scheduleFlush();
  }

  /** The queue to batch from: one with a full batch, else (when a flush is due) the fullest. */
  #pickQueue(allowPartial: boolean): number {
    let key = -1;
    let most = 0;
    for (const [k, q] of this.#queues) {
      if (q.count >= this.#batchSize) return k;
      if (allowPartial && this.#flushDue && q.count > most) [key, most] = [k, q.count];
    }
    if (key >= 0) this.#flushDue = false;
    return key;
  }

  /**
   * Packs up to batchSize queued masks of one side and only their images; null when nothing is
   * due. Called only while no run is in flight, so the input buffers are free.
   */
  #take(allowPartial: boolean): Batch | null {
    const maskLen = this.#pickQueue(allowPartial);
    if (maskLen < 0) return null;
    const q = this.#queues.get(maskLen)!;
    const bs = this.#batchSize;
    const buf = this.#buffers;
    let masks = buf.masks.get(maskLen);
    if (!masks) buf.masks.set(maskLen, masks = new Float32Array(Math.max(bs, 2) * maskLen));
    const index32 = new Int32Array(buf.index.buffer);
    const cls32 = new Int32Array(buf.cls.buffer);
    const chw = this.#chw;
    this.#turn ^= 1;
    const pieces = this.#pieces[this.#turn];
    pieces.length = 0;
    let n = 0;
    let k = 0;
    while (n < bs && q.head < q.segments.length) {
      const seg = q.segments[q.head];
      const take = Math.min(bs - n, seg.end - seg.start);
      for (let i = 0; i < take; i++) {
        const r = seg.requests[seg.start + i];
        let s = this.#slot[r.image];
        if (s < 0) {
          s = this.#slot[r.image] = k;
          this.#used[k] = r.image;
          buf.diffs.set(this.#diffs[r.image], k * chw);
          buf.baselines.set(this.#baselines[r.image], k * chw);
          k++;
        }
        const m = n + i;
        index32[2 * m] = s;
        index32[2 * m + 1] = 0;
        cls32[2 * m] = r.cls;
        cls32[2 * m + 1] = 0;
        masks.set(r.mask, m * maskLen);
      }
      if (!seg.call.failed) {
        pieces.push({ call: seg.call, start: seg.start, length: take, offset: n });
      }
      n += take;
      seg.start += take;
      if (seg.start === seg.end) q.head++;
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
    if (q.head === q.segments.length) {
      q.segments.length = 0;
      q.head = 0;
    } else if (q.head > 1024) {
      q.segments.splice(0, q.head);
      q.head = 0;
    }
    q.count -= n;
    this.#queued -= n;
    const waiters = this.#spaceWaiters;
    this.#spaceWaiters = [];
    for (const w of waiters) w();

    const [c, h, w] = this.inputShape;
    const side = Math.round(Math.sqrt(maskLen));
    const full = this.#fullSource !== undefined && side === h && side === w;
    const feeds = {
      ...(full ? {} : this.#upsampling(side)),
      baselines: new ort.Tensor("float32", buf.baselines.subarray(0, k * chw), [k, c, h, w]),
      diffs: new ort.Tensor("float32", buf.diffs.subarray(0, k * chw), [k, c, h, w]),
      index: new ort.Tensor("int64", buf.index.subarray(0, rows), [rows]),
      masks: new ort.Tensor("float32", masks.subarray(0, rows * maskLen), [rows, 1, side, side]),
      cls: new ort.Tensor("int64", buf.cls.subarray(0, rows), [rows]),
    };
    return { full, feeds, pieces, n };
  }

  /** One session run; resolves to the probabilities or the error (never rejects). */
  async #execute(batch: Batch): Promise<Float32Array | Error> {
    let t0 = performance.now();
    try {
      const session = batch.full ? await this.#fullResolution() : this.session;
      // onnxruntime-node starts the run in a setImmediate callback; one queued just before it
      // marks the real start, so callers' work still queued ahead does not count as busy.
      t0 = performance.now();
      setImmediate(() => t0 = performance.now());
      const out = await session.run(batch.feeds, ["prob"]);
      this.#batches++;
      this.#masks += batch.n;
      return out.prob.data as Float32Array;
    } catch (e) {
      return new Error(`score: ONNX Runtime run failed: ${(e as Error).message}`);
    } finally {
      this.#busyMs += performance.now() - t0;
    }
  }

  #deliver(batch: Batch, out: Float32Array | Error): void {
    for (const p of batch.pieces) {
      if (p.call.failed) continue;
      if (out instanceof Error) {
        p.call.failed = true;
        p.call.reject(out);
        continue;
      }
      p.call.out.set(out.subarray(p.offset, p.offset + p.length), p.start);
      p.call.remaining -= p.length;
      if (p.call.remaining === 0) p.call.resolve(p.call.out);
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

  #allocate(bs: number): Buffers {
    return {
      diffs: new Float32Array(bs * this.#chw),
      baselines: new Float32Array(bs * this.#chw),
      index: new BigInt64Array(Math.max(bs, 2)),
      cls: new BigInt64Array(Math.max(bs, 2)),
      masks: new Map(),
    };
  }

  stats(): ScorerStats {
    const wall = this.#startMs < 0 ? 0 : (performance.now() - this.#startMs) / 1000;
    const busy = this.#busyMs / 1000;
    return {
      masks: this.#masks,
      batches: this.#batches,
      meanBatchFill: this.#batches === 0 ? 0 : this.#masks / this.#batches / this.#batchSize,
      busySeconds: busy,
      wallSeconds: wall,
      utilisation: wall > 0 ? busy / wall : 0,
      peakQueued: this.#peakQueued,
      batchSize: this.#batchSize,
    };
  }

  resetStats(): void {
    this.#masks =
      this.#batches =
      this.#busyMs =
      this.#peakQueued =
        0;
    this.#startMs = -1;
  }

  async release(): Promise<void> {
    await this.session.release();
    if (this.#fullSession && !this.#onlyFull) await (await this.#fullSession).release();
  }
}

/**
 * Times each candidate batch size on synthetic masks; the smallest within 10% of the best wins
 * (smaller batches fill sooner when few callers are waiting, and timings on a busy machine are
 * only good to about that much).
 */
async function tuneBatchSize(
  session: RunSession,
  [c, h, w]: [number, number, number],
  diffs: readonly Float32Array[],
  baselines: readonly Float32Array[],
  opts: ScorerOptions,
  fullResolution: boolean,
): Promise<number> {
  const chw = c * h * w;
  const side = fullResolution ? h : opts.autoMaskSide;
  const cands = [...opts.autoCandidates].sort((a, b) => a - b);
  const perCandidateMs = (opts.autoSeconds * 1000) / cands.length;
  const rates: [number, number][] = [];
  for (const bs of cands) {
    const k = Math.min(bs, diffs.length);
    const diff = new Float32Array(k * chw);
    const base = new Float32Array(k * chw);
    for (let i = 0; i < k; i++) {
      diff.set(diffs[i], i * chw);
      base.set(baselines[i], i * chw);
    }
    const masks = new Float32Array(bs * side * side);
    for (let i = 0; i < masks.length; i++) masks[i] = (i * 7919 % 13) / 12;
    const feeds = {
      ...(fullResolution ? {} : upsampleFeeds(side, [c, h, w], opts.mode)),
      baselines: new ort.Tensor("float32", base, [k, c, h, w]),
      diffs: new ort.Tensor("float32", diff, [k, c, h, w]),
      index: new ort.Tensor("int64", BigInt64Array.from({ length: bs }, (_, i) => BigInt(i % k)), [
        bs,
      ]),
      masks: new ort.Tensor("float32", masks, [bs, 1, side, side]),
      cls: new ort.Tensor("int64", new BigInt64Array(bs), [bs]),
    };
    await session.run(feeds, ["prob"]); // warm-up
    let runs = 0;
    const t0 = performance.now();
    do {
      await session.run(feeds, ["prob"]);
      runs++;
    } while (performance.now() - t0 < perCandidateMs || runs < 2);
    const ms = performance.now() - t0;
    rates.push([bs, (runs * bs) / ms]);
    if (ms / runs > perCandidateMs) break; // larger batches would blow the budget
  }
  const best = Math.max(...rates.map(([, r]) => r));
  return rates.find(([, r]) => r >= 0.9 * best)![0];
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

type UpsampleFeeds = { up_y: ort.Tensor; up_xt: ort.Tensor };

function upsampleFeeds(
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
