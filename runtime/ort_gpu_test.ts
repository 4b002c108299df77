import { join } from "node:path";
import { assert, assertEquals } from "../tests/assert.ts";
import {
  cudaBuildExists,
  cudaLibraries,
  listGpus,
  missingCudaLibraries,
  ortBinDir,
  parseLddMissing,
  providerFilesPresent,
  type RunTool,
} from "./ort_gpu.ts";

/** `ldd` on a CUDA provider library of a machine without cuDNN (the shape ldd prints). */
const LDD = `	linux-vdso.so.1 (0x00007ffd5a1f2000)
	libcublasLt.so.12 => /usr/local/cuda/lib64/libcublasLt.so.12 (0x00007f3c40000000)
	libcublas.so.12 => /usr/local/cuda/lib64/libcublas.so.12 (0x00007f3c39800000)
	libcudnn.so.9 => not found
	libcurand.so.10 => /usr/local/cuda/lib64/libcurand.so.10 (0x00007f3c33000000)
	libcufft.so.11 => not found
	libcudart.so.12 => /usr/local/cuda/lib64/libcudart.so.12 (0x00007f3c32c00000)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f3c32a00000)
`;

Deno.test("ldd output: the sonames not found, in order", () => {
  assertEquals(parseLddMissing(LDD), ["libcudnn.so.9", "libcufft.so.11"]);
  assertEquals(parseLddMissing(""), []);
});

Deno.test("the package's native folder follows its bin/napi-v6/<platform>/<arch> layout", () => {
  const url = "file:///p/node_modules/onnxruntime-node/dist/index.js";
  assertEquals(
    ortBinDir(url, "linux", "x86_64"),
    "/p/node_modules/onnxruntime-node/bin/napi-v6/linux/x64",
  );
  assertEquals(
    ortBinDir(url, "darwin", "aarch64"),
    "/p/node_modules/onnxruntime-node/bin/napi-v6/darwin/arm64",
  );
  const fresh =
    "file:///p/node_modules/.deno/onnxruntime-node@1.30.0/node_modules/onnxruntime-node/index.js";
  assertEquals(
    ortBinDir(fresh, "linux", "x86_64"),
    "/p/node_modules/.deno/onnxruntime-node@1.30.0/node_modules/onnxruntime-node/bin/napi-v6/linux/x64",
  );
  assertEquals(cudaBuildExists("linux", "x86_64"), true);
  assertEquals(cudaBuildExists("linux", "aarch64"), false);
  assertEquals(cudaBuildExists("darwin", "aarch64"), false);
});

Deno.test("this checkout's onnxruntime-node: the folder holds libonnxruntime.so.1", async () => {
  if (!cudaBuildExists()) return;
  const dir = ortBinDir();
  assertEquals((await Deno.stat(join(dir, "libonnxruntime.so.1"))).isFile, true);
  const files = await providerFilesPresent(dir);
  assertEquals(Object.keys(files).length, 3);
});

Deno.test("CUDA libraries: ldd on the provider when it is there, else a search", async () => {
  const bin = await Deno.makeTempDir();
  const libs = await Deno.makeTempDir();
  try {
    const asked: string[] = [];
    const ldd: RunTool = (cmd, args) => {
      asked.push(`${cmd} ${args.join(" ")}`);
      return Promise.resolve(cmd === "ldd" ? LDD : null);
    };
    const noEnv = () => undefined;
    // No provider library yet: every soname is searched for, none found.
    assertEquals(await missingCudaLibraries(bin, ldd, noEnv, []), {
      method: "search",
      missing: [...cudaLibraries],
    });
    assertEquals(asked, [], "ldd is not asked about an absent library");
    // Found in LD_LIBRARY_PATH's folders.
    for (const l of cudaLibraries.slice(0, 4)) await Deno.writeTextFile(join(libs, l), "");
    const env = (k: string) => (k === "LD_LIBRARY_PATH" ? `/nonexistent:${libs}` : undefined);
    assertEquals(await missingCudaLibraries(bin, ldd, env, []), {
      method: "search",
      missing: [...cudaLibraries.slice(4)],
    });
    // With the provider present, ldd's answer is the library's own list.
    await Deno.writeTextFile(join(bin, "libonnxruntime_providers_cuda.so"), "");
    assertEquals(await missingCudaLibraries(bin, ldd, env, []), {
      method: "ldd",
      missing: ["libcudnn.so.9", "libcufft.so.11"],
    });
    // ldd absent: back to the search.
    const none: RunTool = () => Promise.resolve(null);
    assertEquals((await missingCudaLibraries(bin, none, env, [])).method, "search");
  } finally {
    await Deno.remove(bin, { recursive: true });
    await Deno.remove(libs, { recursive: true });
  }
});

Deno.test("GPUs: nvidia-smi's lines, or why there is no listing", async () => {
  const smi: RunTool = (cmd) =>
    Promise.resolve(
      cmd === "nvidia-smi" ? "0, NVIDIA H100 80GB HBM3, 81559 MiB, 550.54.15\n" : null,
    );
  assertEquals(await listGpus(smi), {
    tool: "nvidia-smi",
    gpus: ["0, NVIDIA H100 80GB HBM3, 81559 MiB, 550.54.15"],
  });
  const gone = await listGpus(() => Promise.resolve(null));
  assertEquals(gone.tool, null);
});

Deno.test("a task that may not run nvidia-smi says so instead of calling it absent", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // An nvidia-smi on PATH, as on a GPU node, and a process without --allow-run.
    await Deno.writeTextFile(join(dir, "nvidia-smi"), "#!/bin/sh\necho 0, H100, 80 GB, 550\n");
    await Deno.chmod(join(dir, "nvidia-smi"), 0o755);
    const script = join(dir, "list.ts");
    const mod = new URL("./ort_gpu.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { listGpus } from "${mod}";\nconsole.log(JSON.stringify(await listGpus()));\n`,
    );
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--allow-read", "--allow-env", script],
      env: { PATH: `${dir}:${Deno.env.get("PATH")}` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(r.stdout);
    assert(r.success, new TextDecoder().decode(r.stderr));
    assertEquals(JSON.parse(out), {
      tool: null,
      reason: "not asked: this task may not run nvidia-smi (`deno task doctor` may)",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
