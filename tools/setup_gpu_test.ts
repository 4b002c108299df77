import { join } from "node:path";
import { assert, assertEquals } from "../tests/assert.ts";
import { scriptsMarker, type SetupDeps, setupGpu } from "./setup_gpu.ts";
import { ortBinDir } from "../runtime/ort_gpu.ts";

/** A node_modules/.deno layout like Deno's, with the CPU library and a "scripts ran" marker. */
async function fakeInstall() {
  const root = await Deno.makeTempDir({ prefix: "setup-gpu-" });
  const pkg = join(root, "node_modules/.deno/onnxruntime-node@1.30.0");
  const binDir = ortBinDir(
    `file://${pkg}/node_modules/onnxruntime-node/dist/index.js`,
    "linux",
    "x86_64",
  );
  await Deno.mkdir(binDir, { recursive: true });
  await Deno.writeTextFile(join(binDir, "libonnxruntime.so.1"), "cpu");
  await Deno.writeTextFile(join(pkg, ".scripts-run"), "");
  return { root, pkg, binDir };
}

/** Stand-ins for the download, doctor and ldd, recording what setup asked of them. */
function deps(
  download: (env: Record<string, string>) => Promise<{ code: number; output: string }>,
) {
  const calls = { install: [] as Record<string, string>[], doctor: 0, log: [] as string[] };
  const d: SetupDeps = {
    install: (env) => {
      calls.install.push(env);
      return download(env);
    },
    doctor: () => Promise.resolve(calls.doctor++),
    runTool: (cmd) => Promise.resolve(cmd === "ldd" ? "\tlibcudnn.so.9 => not found\n" : null),
    log: (l) => calls.log.push(l),
  };
  return { d, calls };
}

const linux = { force: false, os: "linux", arch: "x86_64" };
const providerFiles = ["libonnxruntime_providers_cuda.so", "libonnxruntime_providers_shared.so"];

Deno.test("setup-gpu: the CUDA 12 switch, a fresh script run, the files checked, then doctor", async () => {
  const { root, pkg, binDir } = await fakeInstall();
  try {
    assertEquals(scriptsMarker(binDir), join(pkg, ".scripts-run"));
    const { d, calls } = deps(async (env) => {
      // Deno would not rerun the script while its marker is there.
      assert(!await Deno.stat(join(pkg, ".scripts-run")).then(() => true, () => false));
      assertEquals(env, { ONNXRUNTIME_NODE_INSTALL_CUDA: "v12" });
      for (const f of providerFiles) await Deno.writeTextFile(join(binDir, f), "");
      return {
        code: 0,
        output: "Initialize onnxruntime-node@1.30.0: running 'postinstall' script",
      };
    });
    assertEquals(await setupGpu({ ...linux, binDir }, d), 0);
    assertEquals(calls.install.length, 1);
    assertEquals(calls.doctor, 1);
    const text = calls.log.join("\n");
    assert(
      /installed libonnxruntime_providers_shared\.so, libonnxruntime_providers_cuda\.so/.test(text),
      text,
    );
    // ldd on the installed provider names what the loader lacks.
    assert(/will not load until these are found \(ldd .*\): libcudnn\.so\.9/.test(text), text);

    // Installed already: no second download unless --force.
    const again = deps(() => Promise.reject(new Error("no download expected")));
    assertEquals(await setupGpu({ ...linux, binDir }, again.d), 0);
    assertEquals(again.calls.install.length, 0);
    assert(/already installed/.test(again.calls.log.join("\n")));
    const forced = deps(() => Promise.resolve({ code: 0, output: "" }));
    assertEquals(await setupGpu({ ...linux, force: true, binDir }, forced.d), 0);
    assertEquals(forced.calls.install.length, 1);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("setup-gpu: a failed or empty download is an error that shows the script's last words", async () => {
  const { root, binDir } = await fakeInstall();
  try {
    const offline = deps(() =>
      Promise.resolve({
        code: 1,
        output:
          "error: script 'postinstall' in 'onnxruntime-node@1.30.0' failed with exit code 1\n" +
          "error: Uncaught (in promise) Error: getaddrinfo ENOTFOUND api.nuget.org",
      })
    );
    assertEquals(await setupGpu({ ...linux, binDir }, offline.d), 1);
    const text = offline.calls.log.join("\n");
    assert(/not installed .*exited with 1/.test(text), text);
    assert(/ENOTFOUND api\.nuget\.org/.test(text) && /GLOBAL_AGENT_HTTPS_PROXY/.test(text), text);
    assertEquals(offline.calls.doctor, 0);
    // Exit 0 and no files (what ONNXRUNTIME_NODE_INSTALL=cuda12 does under Deno): still an error.
    const empty = deps(() => Promise.resolve({ code: 0, output: "" }));
    assertEquals(await setupGpu({ ...linux, binDir }, empty.d), 1);
    assert(/exited with 0/.test(empty.calls.log.join("\n")));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("setup-gpu: no CUDA build outside linux/x86_64, and nothing is downloaded", async () => {
  const { d, calls } = deps(() => Promise.reject(new Error("no download expected")));
  assertEquals(await setupGpu({ ...linux, arch: "aarch64", binDir: "/nowhere" }, d), 1);
  assertEquals(calls.install.length, 0);
  assert(/linux\/x86_64 only, not linux\/aarch64/.test(calls.log.join("\n")));
});
