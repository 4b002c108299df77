import { assert, assertEquals } from "../tests/assert.ts";
import { diagnose, type DoctorFacts, formatDoctor } from "./doctor.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const BIN = "/x/onnxruntime-node/bin/napi-v6/linux/x64";
const allFiles = {
  "libonnxruntime_providers_cuda.so": true,
  "libonnxruntime_providers_shared.so": true,
  "libonnxruntime_providers_tensorrt.so": true,
};
const noFiles = Object.fromEntries(Object.keys(allFiles).map((k) => [k, false]));
const failing = (reason: string): DoctorFacts["probes"] => [
  { provider: "cuda", opens: false, reason },
  { provider: "tensorrt", opens: false, reason },
  { provider: "cpu", opens: true },
];
const base: DoctorFacts = {
  deno: "2.9.6",
  onnxruntime: "1.30.0",
  platform: "linux/x86_64",
  cudaBuild: true,
  binDir: BIN,
  providerFiles: allFiles,
  libraries: { method: "ldd", missing: [] },
  probes: failing("OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library"),
  gpus: { tool: "nvidia-smi", gpus: ["0, NVIDIA H100 80GB HBM3, 81559 MiB, 550.54.15"] },
};

Deno.test("doctor's next step follows the first thing missing, in install order", () => {
  const next = (f: Partial<DoctorFacts>) => diagnose({ ...base, ...f }).next;
  assert(/setup-gpu/.test(next({ providerFiles: noFiles })), "provider files absent");
  const libs = next({ libraries: { method: "ldd", missing: ["libcudnn.so.9"] } });
  assert(/install libcudnn\.so\.9 .*LD_LIBRARY_PATH/.test(libs), libs);
  assert(/no NVIDIA GPU is visible/.test(next({ gpus: { tool: null, reason: "absent" } })));
  assert(
    /no NVIDIA GPU is visible.*lists no GPU/.test(next({ gpus: { tool: "nvidia-smi", gpus: [] } })),
  );
  const driver = next({ probes: failing("CUDA failure 35: CUDA driver version is insufficient") });
  assert(/driver version is insufficient.*driver supports CUDA 12/.test(driver), driver);
  assert(/no CUDA build for linux\/aarch64|only linux\/x86_64/.test(
    next({ platform: "linux/aarch64", cudaBuild: false, providerFiles: {}, libraries: null }),
  ));
  const works = next({
    probes: [{ provider: "cuda", opens: true }, ...failing("x").slice(1)],
  });
  assert(/CUDA works.*requireProvider.*--require-provider cuda/.test(works), works);
});

Deno.test("doctor explains each provider that does not open in the machine's terms", () => {
  const r = diagnose({
    ...base,
    providerFiles: { ...allFiles, "libonnxruntime_providers_tensorrt.so": false },
  });
  // Files and libraries in place, a GPU listed: onnxruntime's own reason is all there is.
  assertEquals(
    r.why.cuda,
    "OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library",
  );
  assert(/not installed: libonnxruntime_providers_tensorrt\.so absent/.test(r.why.tensorrt!));
  assertEquals(r.why.cpu, undefined);
  const text = formatDoctor(r);
  for (
    const want of [
      "onnxruntime  1.30.0",
      "cuda      does not open",
      "cpu       opens",
      "H100",
      "next: ",
    ]
  ) {
    assert(text.includes(want), `"${want}" missing from:\n${text}`);
  }
});

/**
 * The `doctor` task's own command line (deno.json), without its last word (the verb), so the test
 * runs under its permissions: the xcompare task's plus running nvidia-smi and ldd.
 */
async function xcompareTask(): Promise<string[]> {
  const task: string = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks.doctor;
  return task.split(" ").slice(1, -1);
}

Deno.test("xcompare doctor --json under the doctor task's permissions: real probes of this machine", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [...await xcompareTask(), "doctor", "--json"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(r.success, new TextDecoder().decode(r.stderr));
  const report = JSON.parse(new TextDecoder().decode(r.stdout));
  assertEquals(report.probes.map((p: { provider: string }) => p.provider), [
    "cuda",
    "tensorrt",
    "cpu",
  ]);
  assertEquals(report.probes[2], { provider: "cpu", opens: true });
  assertEquals(report.deno, Deno.version.deno);
  assert(typeof report.next === "string" && report.next.length > 0);
  const cuda = report.probes[0];
  if (!cuda.opens) {
    // Where cuda does not open, the reason is onnxruntime's, and there is a plainer one; the
    // native log does not print it again.
    assert(cuda.reason.length > 0 && report.why.cuda.length > 0, JSON.stringify(report));
    const stderr = new TextDecoder().decode(r.stderr);
    assert(!stderr.includes("[E:onnxruntime"), stderr);
    const gate = await new Deno.Command(Deno.execPath(), {
      args: [...await xcompareTask(), "doctor", "--require-provider", "cuda"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(gate.code, 1, "--require-provider cuda gates on cuda opening");
    assert(/cuda does not open on this machine/.test(new TextDecoder().decode(gate.stderr)));
  }
});
