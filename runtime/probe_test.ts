import { assert, assertEquals, assertRejects } from "../tests/assert.ts";
import { tinyClassifier } from "../tests/fixtures/tiny_models.ts";
import { encodeModel } from "./onnx/proto.ts";
import { probeProvider, probeRuntime } from "./probe.ts";
import { createSession, RequiredProviderError, resetProviderFallback } from "./session.ts";

/** Whether this machine has a working CUDA provider: the tests below then have nothing to fail. */
const cudaOpens = (await probeProvider("cuda")).opens;

Deno.test("the probe opens and runs the one-node model on the CPU provider", async () => {
  assertEquals(await probeProvider("cpu"), { provider: "cpu", opens: true });
  assertEquals((await probeRuntime(["cpu"], "cpu")).provider, "cpu");
});

Deno.test({
  name: "a GPU provider that does not load: the probe says no, with onnxruntime's reason",
  ignore: cudaOpens,
  async fn() {
    for (const p of ["cuda", "tensorrt"] as const) {
      const r = await probeProvider(p);
      assert(!r.opens, `${p} opened`);
      // The CPU package of onnxruntime-node lacks the provider's shared library.
      assert(!r.opens && /shared library|provider/i.test(r.reason), JSON.stringify(r));
    }
  },
});

Deno.test({
  name: "requireProvider: no fallback to the CPU; the error names the provider and doctor",
  ignore: cudaOpens,
  async fn() {
    resetProviderFallback();
    const bytes = encodeModel(tinyClassifier({ channels: 1, size: 8, classes: 3, seed: 3 }));
    // Without the requirement the same request falls back (one warning, silenced here).
    const warn = console.warn;
    console.warn = () => {};
    try {
      assertEquals((await createSession(bytes, { providers: ["cuda", "cpu"] })).provider, "cpu");
    } finally {
      console.warn = warn;
    }
    const e = await assertRejects(
      () => createSession(bytes, { providers: ["cuda", "cpu"], requireProvider: "cuda" }),
      /execution provider cuda is required .*--require-provider.* does not open on it: .*doctor/,
    );
    assert(e instanceof RequiredProviderError && e.provider === "cuda");
    // Even after cuda failed once in this process, a required cuda is tried, not skipped.
    await assertRejects(() => probeRuntime(["cpu"], "cuda"), /cuda is required/);
  },
});

Deno.test("requireProvider cpu opens on the CPU; a model error stays a model error", async () => {
  const bytes = encodeModel(tinyClassifier({ channels: 1, size: 4, classes: 2, seed: 1 }));
  const s = await createSession(bytes, { providers: ["cuda", "cpu"], requireProvider: "cpu" });
  assertEquals(s.provider, "cpu");
  await s.session.release();
  await assertRejects(
    () => createSession(Uint8Array.of(1, 2, 3), { requireProvider: "cpu" }),
    /cannot create an ONNX Runtime session/,
  );
});
