import * as ort from "onnxruntime-node";
import { assert, assertEquals, assertRejects } from "../tests/assert.ts";
import { tinyClassifier } from "../tests/fixtures/tiny_models.ts";
import { encodeModel } from "./onnx/proto.ts";
import { createSession, resetProviderFallback, runtimeIdentity } from "./session.ts";

const bytes = encodeModel(tinyClassifier({ channels: 1, size: 8, classes: 3, seed: 3 }));

function captureWarnings<T>(fn: () => Promise<T>): Promise<{ result: T; warnings: string[] }> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
  return fn().then((result) => ({ result, warnings })).finally(() => console.warn = original);
}

async function gpuProviderLoads(p: "cuda" | "tensorrt"): Promise<boolean> {
  try {
    const s = await ort.InferenceSession.create(bytes, { executionProviders: [p] });
    await s.release();
    return true;
  } catch {
    return false;
  }
}

Deno.test("a CPU session runs and reports its provider and ORT version", async () => {
  const s = await createSession(bytes, { providers: ["cpu"], threads: 1 });
  assertEquals(s.provider, "cpu");
  assertEquals(s.ortVersion, ort.env.versions.node);
  assertEquals(runtimeIdentity(s), { ortVersion: ort.env.versions.node!, provider: "cpu" });
  const out = await s.session.run({
    input: new ort.Tensor("float32", new Float32Array(2 * 64).fill(0.5), [2, 1, 8, 8]),
  });
  assertEquals(out.logits.dims, [2, 3]);
  await s.session.release();
});

Deno.test({
  name: "asking for cuda where it is absent falls back to CPU with one warning per process",
  ignore: await gpuProviderLoads("cuda"),
  fn: async () => {
    resetProviderFallback();
    const { result, warnings } = await captureWarnings(async () => {
      const made = [];
      for (let i = 0; i < 3; i++) {
        made.push(await createSession(bytes, { providers: ["cuda", "cpu"] }));
      }
      made.push(await createSession(bytes, { providers: ["tensorrt", "cuda"] }));
      return made;
    });
    assertEquals(result.map((r) => r.provider), ["cpu", "cpu", "cpu", "cpu"]);
    assertEquals(warnings.length, 1, warnings.join("\n"));
    assert(/cuda.*unavailable; running on cpu/.test(warnings[0]), warnings[0]);
    assertEquals(runtimeIdentity().provider, "cpu");
    const out = await result[0].session.run({
      input: new ort.Tensor("float32", new Float32Array(64), [1, 1, 8, 8]),
    });
    assertEquals(out.logits.dims, [1, 3]);
    for (const r of result) await r.session.release();
  },
});

Deno.test("bad model bytes and missing files are named in errors", async () => {
  await assertRejects(() => createSession("/nonexistent/m.onnx"), /\/nonexistent\/m\.onnx/);
  await assertRejects(
    () => createSession(new Uint8Array([1, 2, 3]), { providers: ["cpu"] }),
    /cannot create an ONNX Runtime session/,
  );
});
