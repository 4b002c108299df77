/**
 * An ONNX Runtime session on its own worker thread. onnxruntime-node 1.30 runs sessions on the
 * calling JS thread (in a setImmediate callback), so while a batch runs, the explanation searches
 * that feed the Scorer cannot prepare the next one; with the session here, they can. Same `run`
 * and `release` as ort.InferenceSession; feeds are copied once and transferred, never shared.
 */
import * as ort from "onnxruntime-node";
import type { Provider } from "../lib/runtime_identity.ts";
import {
  type ProviderFailure,
  recordProviders,
  type RunSession,
  type SessionOptions,
  unavailableProviders,
} from "./session.ts";

type WireData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

/** A tensor as it crosses the thread boundary. */
export interface WireTensor {
  type: "float32" | "float64" | "int64" | "int32" | "uint8" | "bool";
  dims: number[];
  data: WireData;
}

export type WorkerRequest =
  | {
    id: number;
    type: "create";
    bytes: Uint8Array;
    options: Partial<SessionOptions>;
    skip: Provider[];
    source: string;
  }
  | { id: number; type: "run"; feeds: Record<string, WireTensor>; fetches: string[] }
  | { id: number; type: "release" };

export type WorkerReply =
  | { id: number; ok: false; error: string }
  | {
    id: number;
    ok: true;
    provider?: Provider;
    failures?: ProviderFailure[];
    inputNames?: string[];
    outputNames?: string[];
    outputs?: Record<string, WireTensor>;
  };

type Ok = Extract<WorkerReply, { ok: true }>;

export class WorkerSession implements RunSession {
  #nextId = 0;
  #pending = new Map<number, { resolve: (r: Ok) => void; reject: (e: Error) => void }>();
  #closed = false;
  inputNames: readonly string[] = [];
  outputNames: readonly string[] = [];
  provider: Provider = "cpu";

  private constructor(private readonly worker: Worker, private readonly source: string) {
    worker.onmessage = (e: MessageEvent<WorkerReply>) => {
      const p = this.#pending.get(e.data.id);
      if (!p) return;
      this.#pending.delete(e.data.id);
      if (e.data.ok) p.resolve(e.data);
      else p.reject(new Error(e.data.error));
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#failAll(new Error(`${source}: session worker failed: ${e.message}`));
    };
  }

  /** Starts a worker and creates the session there (provider fallback as `createSession`). */
  static async create(
    bytes: Uint8Array,
    options: Partial<SessionOptions> = {},
    source = "<model bytes>",
  ): Promise<WorkerSession> {
    const worker = new Worker(new URL("./worker_session_main.ts", import.meta.url).href, {
      type: "module",
    });
    const ws = new WorkerSession(worker, source);
    try {
      const r = await ws.#request({
        id: 0,
        type: "create",
        bytes,
        options,
        skip: unavailableProviders(),
        source,
      });
      recordProviders(r.failures ?? [], r.provider!);
      ws.provider = r.provider!;
      ws.inputNames = r.inputNames!;
      ws.outputNames = r.outputNames!;
      return ws;
    } catch (e) {
      ws.#terminate();
      throw e;
    }
  }

  async run(
    feeds: ort.InferenceSession.FeedsType,
    fetches: string[],
  ): Promise<ort.InferenceSession.ReturnType> {
    const wire: Record<string, WireTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [k, t] of Object.entries(feeds)) {
      const data = (t.data as WireData).slice(); // the caller reuses its buffers
      wire[k] = { type: t.type as WireTensor["type"], dims: t.dims.map(Number), data };
      transfer.push(data.buffer as ArrayBuffer);
    }
    const r = await this.#request({ id: 0, type: "run", feeds: wire, fetches }, transfer);
    const out: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(r.outputs!)) {
      out[k] = new ort.Tensor(t.type, t.data, t.dims);
    }
    return out;
  }

  async release(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#request({ id: 0, type: "release" });
    } finally {
      this.#terminate();
    }
  }

  #request(req: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<Ok> {
    if (this.#closed) return Promise.reject(new Error(`${this.source}: session released`));
    const id = ++this.#nextId;
    return new Promise<Ok>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...req, id }, transfer);
    });
  }

  #terminate(): void {
    this.#closed = true;
    this.worker.terminate();
    this.#failAll(new Error(`${this.source}: session released`));
  }

  #failAll(e: Error): void {
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }
}
