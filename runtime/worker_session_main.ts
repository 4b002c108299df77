/**
 * The worker side of `WorkerSession`: owns one ONNX Runtime session, so that onnxruntime-node's
 * synchronous run blocks this thread and not the one where explanation searches prepare their
 * next masks. Messages: create, run, release; every reply carries the request id.
 */
/// <reference lib="deno.worker" />
import * as ort from "onnxruntime-node";
import { openOnProviders } from "./session.ts";
import type { WireTensor, WorkerReply, WorkerRequest } from "./worker_session.ts";

let session: ort.InferenceSession | undefined;

function reply(r: WorkerReply, transfer: Transferable[] = []): void {
  self.postMessage(r, transfer);
}

self.onmessage = async (e: MessageEvent<WorkerRequest>) => {
  const m = e.data;
  try {
    if (m.type === "create") {
      const opened = await openOnProviders(m.bytes, m.options, m.skip, m.source);
      session = opened.session;
      reply({
        id: m.id,
        ok: true,
        provider: opened.provider,
        failures: opened.failures,
        inputNames: [...session.inputNames],
        outputNames: [...session.outputNames],
      });
    } else if (m.type === "run") {
      if (!session) throw new Error("no session: create it first");
      const feeds: Record<string, ort.Tensor> = {};
      for (const [k, t] of Object.entries(m.feeds)) {
        feeds[k] = new ort.Tensor(t.type, t.data, t.dims);
      }
      const out = await session.run(feeds, m.fetches);
      const outputs: Record<string, WireTensor> = {};
      const transfer: Transferable[] = [];
      for (const [k, t] of Object.entries(out)) {
        const data = t.data as WireTensor["data"];
        outputs[k] = { type: t.type as WireTensor["type"], dims: [...t.dims], data };
        transfer.push(data.buffer as ArrayBuffer);
      }
      reply({ id: m.id, ok: true, outputs }, transfer);
    } else if (m.type === "release") {
      await session?.release();
      session = undefined;
      reply({ id: m.id, ok: true });
    }
  } catch (err) {
    reply({ id: m.id, ok: false, error: (err as Error).message });
  }
};
