/**
 * The runtime identity of this process (onnxruntime version, the provider a session actually gets),
 * found by opening a one-node model with the configured providers: it enters cache keys.
 */
import { DType, makeGraph, makeModel, node, valueInfo } from "./onnx/builder.ts";
import { encodeModel } from "./onnx/proto.ts";
import type { Provider, RuntimeIdentity } from "../lib/runtime_identity.ts";
import { createSession } from "./session.ts";

export async function probeRuntime(providers: Provider[]): Promise<RuntimeIdentity> {
  const model = makeModel(
    makeGraph("probe", [node("Identity", ["x"], ["y"])], [valueInfo("x", DType.FLOAT, [1])], [
      valueInfo("y", DType.FLOAT, [1]),
    ]),
    13,
  );
  const s = await createSession(encodeModel(model), { providers });
  await s.session.release();
  return { ortVersion: s.ortVersion, provider: s.provider };
}
