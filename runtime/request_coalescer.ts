/**
 * Many callers each ask for a few scores at a time, and a model runs fastest on full batches, one
 * at a time. This queues the callers' requests, packs them into batches of requests that may share
 * one (the Scorer: masks of one size), runs one batch at a time and hands each caller its slice of
 * the results, in order. The queue is bounded, so memory stays flat however many callers there
 * are. It knows nothing of ONNX Runtime: the batch runner does, so this is tested with a fake.
 */
import { setImmediate } from "node:timers";

export interface CoalescerOptions<R> {
  /** Requests per batch at most. */
  batchSize: number;
  /** Cap on queued (not yet batched) requests; callers wait while it is full. */
  maxQueued: number;
  /** Requests with equal keys may share a batch. */
  keyOf(request: R): number;
  /**
   * Starts one batch of requests that share `key` (at most `batchSize`). Called only while no
   * other batch runs, so the runner's input buffers are free; it packs them before it returns.
   * Resolves to one result per request, or to the Error that fails them; never rejects.
   */
  run(key: number, requests: readonly R[]): Promise<Float32Array | Error>;
}

/** One caller's `submit`: where its results go. */
interface Call {
  out: Float32Array;
  remaining: number;
  failed: boolean;
  resolve: (v: Float32Array) => void;
  reject: (e: Error) => void;
}

/** Consecutive requests of one call with one key, not yet batched from `start` on. */
interface Segment<R> {
  call: Call;
  requests: readonly R[];
  start: number;
  end: number;
}

/** A slice of a segment that went into a batch at `offset`. */
interface Piece {
  call: Call;
  start: number;
  length: number;
  offset: number;
}

/** The requests of one key waiting for a batch, oldest first from `head`. */
interface Queue<R> {
  segments: Segment<R>[];
  head: number;
  count: number;
}

/** A started batch: where its results go, and the run that gives them. */
interface Batch {
  pieces: Piece[];
  result: Promise<Float32Array | Error>;
}

export class Coalescer<R> {
  readonly batchSize: number;
  readonly #maxQueued: number;
  readonly #keyOf: (request: R) => number;
  readonly #run: (key: number, requests: readonly R[]) => Promise<Float32Array | Error>;
  readonly #queues = new Map<number, Queue<R>>();
  /**
   * Where each caller's slice of a batch goes, for the two batches alive at once: the one just
   * run, still to be delivered, and the next, already packed and running.
   */
  readonly #pieces: [Piece[], Piece[]] = [[], []];
  #turn = 0;
  #queued = 0;
  #running = false;
  #flushDue = false;
  #tickScheduled = false;
  #spaceWaiters: (() => void)[] = [];
  #peakQueued = 0;

  constructor(options: CoalescerOptions<R>) {
    this.batchSize = options.batchSize;
    this.#maxQueued = Math.max(options.maxQueued, 1);
    this.#keyOf = options.keyOf;
    this.#run = options.run;
  }

  /** Most requests queued at once since creation or `resetPeakQueued` (never above the cap). */
  get peakQueued(): number {
    return this.#peakQueued;
  }

  resetPeakQueued(): void {
    this.#peakQueued = 0;
  }

  /** Queues `requests`; resolves to their results, in their order. */
  submit(requests: readonly R[]): Promise<Float32Array> {
    const n = requests.length;
    if (n === 0) return Promise.resolve(new Float32Array(0));
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

  async #enqueue(call: Call, requests: readonly R[]): Promise<void> {
    let i = 0;
    const n = requests.length;
    while (i < n) {
      while (this.#queued >= this.#maxQueued) {
        await new Promise<void>((r) => this.#spaceWaiters.push(r));
      }
      const room = this.#maxQueued - this.#queued;
      const key = this.#keyOf(requests[i]);
      let j = i + 1;
      while (j < n && j - i < room && this.#keyOf(requests[j]) === key) j++;
      let q = this.#queues.get(key);
      if (!q) this.#queues.set(key, q = { segments: [], head: 0, count: 0 });
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
      if (q.count >= this.batchSize) {
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
      let batch = this.#start(true);
      while (batch) {
        const out = await batch.result;
        const next = this.#start(false);
        this.#deliver(batch.pieces, out);
        batch = next;
      }
    } finally {
      this.#running = false;
    }
    // A partial batch waits one macrotask, so that every caller woken by the last delivery has
    // run its microtasks and enqueued its next requests first.
    this.#flushDue = false;
    this.#scheduleFlush();
  }

  /** The queue to batch from: one with a full batch, else (when a flush is due) the fullest. */
  #pickQueue(allowPartial: boolean): number | undefined {
    let key: number | undefined;
    let most = 0;
    for (const [k, q] of this.#queues) {
      if (q.count >= this.batchSize) return k;
      if (allowPartial && this.#flushDue && q.count > most) [key, most] = [k, q.count];
    }
    if (key !== undefined) this.#flushDue = false;
    return key;
  }

  /**
   * Takes up to batchSize queued requests of one key and starts their run; null when nothing is
   * due. Called only while no run is in flight.
   */
  #start(allowPartial: boolean): Batch | null {
    const key = this.#pickQueue(allowPartial);
    if (key === undefined) return null;
    const q = this.#queues.get(key)!;
    const bs = this.batchSize;
    this.#turn ^= 1;
    const pieces = this.#pieces[this.#turn];
    pieces.length = 0;
    const requests: R[] = [];
    while (requests.length < bs && q.head < q.segments.length) {
      const seg = q.segments[q.head];
      const take = Math.min(bs - requests.length, seg.end - seg.start);
      if (!seg.call.failed) {
        pieces.push({ call: seg.call, start: seg.start, length: take, offset: requests.length });
      }
      for (let i = 0; i < take; i++) requests.push(seg.requests[seg.start + i]);
      seg.start += take;
      if (seg.start === seg.end) q.head++;
    }
    if (q.head === q.segments.length) {
      q.segments.length = 0;
      q.head = 0;
    } else if (q.head > 1024) {
      q.segments.splice(0, q.head);
      q.head = 0;
    }
    q.count -= requests.length;
    this.#queued -= requests.length;
    const waiters = this.#spaceWaiters;
    this.#spaceWaiters = [];
    for (const w of waiters) w();
    return { pieces, result: this.#run(key, requests) };
  }

  #deliver(pieces: readonly Piece[], out: Float32Array | Error): void {
    for (const p of pieces) {
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
}
