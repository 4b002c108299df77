/**
 * The runtime identity of this process (onnxruntime version, the provider a session actually gets),
 * found by opening a one-node model with the configured providers: it enters cache keys. The same
 * one-node model tells `xcompare doctor` whether each provider opens at all, and why not.
 */
import * as ort from "onnxruntime-node";
import { DType, makeGraph, makeModel, node, valueInfo } from "./onnx/builder.ts";
import { encodeModel } from "./onnx/proto.ts";
import type { Provider, RuntimeIdentity } from "../lib/runtime_identity.ts";
import { createSession } from "./session.ts";

/** A one-node Identity model: the smallest thing a session can open and run. */
function probeModel(): Uint8Array {
  return encodeModel(makeModel(
    makeGraph("probe", [node("Identity", ["x"], ["y"])], [valueInfo("x", DType.FLOAT, [1])], [
      valueInfo("y", DType.FLOAT, [1]),
    ]),
    13,
  ));
}

/**
 * The identity sessions get with `providers` (CPU as the fallback), or, with `requireProvider`,
 * on that provider or a `RequiredProviderError`.
 */
export async function probeRuntime(
  providers: Provider[],
  requireProvider?: Provider,
): Promise<RuntimeIdentity> {
  const s = await createSession(probeModel(), { providers, requireProvider });
  await s.session.release();
  return { ortVersion: s.ortVersion, provider: s.provider };
}

/** Whether a session opens on one provider and runs the probe model, and if not, why. */
export type ProviderProbe = { provider: Provider; opens: true } | {
  provider: Provider;
  opens: false;
  /** onnxruntime's message, first line. */
  reason: string;
};

/** Opens the probe model on `provider` alone (no fallback) and runs it once. */
export async function probeProvider(provider: Provider): Promise<ProviderProbe> {
  try {
    const s = await createSession(probeModel(), {
      providers: [provider],
      requireProvider: provider,
    });
    try {
      const out = await s.session.run({ x: new ort.Tensor("float32", Float32Array.of(1), [1]) });
      if ((out.y.data as Float32Array)[0] !== 1) throw new Error("the probe model ran wrong");
    } finally {
      await s.session.release();
    }
    return { provider, opens: true };
  } catch (e) {
    const err = e as Error & { reason?: string };
    return { provider, opens: false, reason: (err.reason ?? err.message).split("\n")[0] };
  }
}
