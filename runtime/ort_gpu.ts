/**
 * What onnxruntime-node's CUDA build needs on this machine, for `deno task setup-gpu` and
 * `xcompare doctor`: where the package keeps its native libraries, which of its CUDA provider
 * libraries are there, and which CUDA and cuDNN libraries the loader cannot find.
 *
 * Facts from onnxruntime-node 1.30.0 itself: its npm package ships only `libonnxruntime.so.1` (and
 * the binding) in `bin/napi-v6/<platform>/<arch>/`; `script/install-metadata.js` lists, for
 * linux/x64 only (manifest "cuda12"), three files its postinstall script downloads into that folder
 * from the NuGet package Microsoft.ML.OnnxRuntime.Gpu.Linux of the same version. Which CUDA and
 * cuDNN major versions that build links is ONNX Runtime's stated requirement for its CUDA 12
 * packages since 1.19: CUDA 12.x and cuDNN 9.x. Where the provider library is present, `ldd` on it
 * is asked instead, so the list is the library's own.
 */
import { dirname, join } from "node:path";

/** The CUDA build's files that the postinstall script adds (script/install-metadata.js). */
export const cudaProviderFiles = [
  "libonnxruntime_providers_cuda.so",
  "libonnxruntime_providers_shared.so",
  "libonnxruntime_providers_tensorrt.so",
] as const;

/** The files each GPU provider cannot open without (TensorRT runs on top of the CUDA provider). */
export const providerLibraryFiles: Record<"cuda" | "tensorrt", readonly string[]> = {
  cuda: ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"],
  tensorrt: [
    "libonnxruntime_providers_shared.so",
    "libonnxruntime_providers_cuda.so",
    "libonnxruntime_providers_tensorrt.so",
  ],
};

/**
 * Libraries the CUDA 12 / cuDNN 9 build loads, by soname: the CUDA runtime, cuBLAS, cuBLASLt,
 * cuRAND and cuFFT of CUDA 12, and cuDNN 9. Used where `ldd` cannot be asked.
 */
export const cudaLibraries = [
  "libcudart.so.12",
  "libcublas.so.12",
  "libcublasLt.so.12",
  "libcurand.so.10",
  "libcufft.so.11",
  "libcudnn.so.9",
] as const;

/** Whether onnxruntime-node publishes a CUDA build for this platform (linux/x64 only). */
export function cudaBuildExists(os: string = Deno.build.os, arch: string = Deno.build.arch) {
  return os === "linux" && arch === "x86_64";
}

/** `bin/napi-v6/<platform>/<arch>` of the onnxruntime-node package this project resolves. */
export function ortBinDir(
  resolved: string = import.meta.resolve("onnxruntime-node"),
  os: string = Deno.build.os,
  arch: string = Deno.build.arch,
): string {
  const path = new URL(resolved).pathname;
  // <pkg>/dist/index.js once installed, <pkg>/index.js before node_modules exists.
  const pkg = /^(.*\/node_modules\/onnxruntime-node)\//.exec(path)?.[1] ?? dirname(dirname(path));
  const platform = os === "windows" ? "win32" : os;
  const cpu = arch === "x86_64" ? "x64" : arch === "aarch64" ? "arm64" : arch;
  return join(pkg, "bin", "napi-v6", platform, cpu);
}

/** Which of the CUDA build's files are in `binDir`. */
export async function providerFilesPresent(binDir: string): Promise<Record<string, boolean>> {
  const out: Record<string, boolean> = {};
  for (const f of cudaProviderFiles) {
    out[f] = await Deno.stat(join(binDir, f)).then((s) => s.isFile, () => false);
  }
  return out;
}

/** Sonames `ldd` reports as "not found". */
export function parseLddMissing(output: string): string[] {
  const out: string[] = [];
  for (const line of output.split("\n")) {
    const m = /^\s*(\S+)\s+=>\s+not found/.exec(line);
    if (m && !out.includes(m[1])) out.push(m[1]);
  }
  return out;
}

/** A command's stdout, or null where it is absent, not permitted or fails. */
export type RunTool = (cmd: string, args: string[]) => Promise<string | null>;

/** Programs this process was not permitted to run (NotCapable), as against absent or failing. */
const refused = new Set<string>();

export const runTool: RunTool = async (cmd, args) => {
  try {
    const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return r.success ? new TextDecoder().decode(r.stdout) : null;
  } catch (e) {
    // Not "absent": this process may not run it (the xcompare task runs no program).
    if (e instanceof Deno.errors.NotCapable) {
      refused.add(cmd);
      console.error(`doctor: this task may not run ${cmd}; run \`deno task doctor\` to include it`);
    }
    return null;
  }
};

/** Folders searched for a library where `ldd` cannot be asked, after LD_LIBRARY_PATH's. */
export const usualDirs = [
  "/usr/local/cuda/lib64",
  "/usr/local/cuda/targets/x86_64-linux/lib",
  "/usr/lib/x86_64-linux-gnu",
  "/usr/lib64",
  "/usr/lib",
];

export interface LibraryCheck {
  /** How the answer was found: `ldd` on the provider library, or a search for `cudaLibraries`. */
  method: "ldd" | "search";
  /** Sonames the loader would not find. */
  missing: string[];
}

/**
 * CUDA/cuDNN libraries the CUDA provider would not find: `ldd` on the provider library when it is
 * present and `ldd` answers; else each of `cudaLibraries` is looked for in LD_LIBRARY_PATH's
 * folders and the usual ones (not in ldconfig's cache: `ldconfig` is often off a user's PATH).
 */
export async function missingCudaLibraries(
  binDir: string,
  run: RunTool = runTool,
  env: (k: string) => string | undefined = (k) => Deno.env.get(k),
  searched: readonly string[] = usualDirs,
): Promise<LibraryCheck> {
  const provider = join(binDir, "libonnxruntime_providers_cuda.so");
  const present = await Deno.stat(provider).then(() => true, () => false);
  const ldd = present ? await run("ldd", [provider]) : null;
  if (ldd !== null) return { method: "ldd", missing: parseLddMissing(ldd) };
  const dirs = [...(env("LD_LIBRARY_PATH") ?? "").split(":").filter(Boolean), ...searched];
  const missing: string[] = [];
  for (const lib of cudaLibraries) {
    let found = false;
    for (const d of dirs) {
      if (await Deno.stat(join(d, lib)).then(() => true, () => false)) {
        found = true;
        break;
      }
    }
    if (!found) missing.push(lib);
  }
  return { method: "search", missing };
}

/** What an NVIDIA GPU listing says: one entry per GPU, or why there is none. */
export type GpuListing = { tool: "nvidia-smi"; gpus: string[] } | {
  tool: null;
  reason: string;
};

/** The GPUs `nvidia-smi` lists (name, memory, driver), if it exists and answers. */
export async function listGpus(run: RunTool = runTool): Promise<GpuListing> {
  const out = await run("nvidia-smi", [
    "--query-gpu=index,name,memory.total,driver_version",
    "--format=csv,noheader",
  ]);
  if (out === null) {
    // Under the xcompare task's flags nothing may run: that says nothing about the GPUs.
    return {
      tool: null,
      reason: refused.has("nvidia-smi")
        ? "not asked: this task may not run nvidia-smi (`deno task doctor` may)"
        : "nvidia-smi is not installed, not on PATH, or failed",
    };
  }
  return { tool: "nvidia-smi", gpus: out.split("\n").map((l) => l.trim()).filter(Boolean) };
}
