/**
 * `deno task setup-gpu [--force]`: installs the CUDA 12 build of onnxruntime-node's execution
 * providers through the package's own postinstall script, checks the CUDA and cuDNN libraries they
 * need, and ends with `xcompare doctor`'s verdict.
 *
 * Why it takes more than `deno install --allow-scripts` (facts from onnxruntime-node 1.30.0's
 * script/install.js and script/install-utils.js, and Deno 2.9.6's behaviour, observed here):
 * - The npm package ships only the CPU library; the postinstall script downloads the CUDA
 *   provider libraries (NuGet package Microsoft.ML.OnnxRuntime.Gpu.Linux, same version) into
 *   `bin/napi-v6/linux/x64/`. Deno skips lifecycle scripts unless `--allow-scripts` names the
 *   package.
 * - The script's switch: `ONNXRUNTIME_NODE_INSTALL_CUDA=v12` makes `parseInstallCudaFlag` return 12
 *   and `parseInstallFlag` return "cuda12", an explicit install. `ONNXRUNTIME_NODE_INSTALL=cuda12`,
 *   which its comment documents, does not work in 1.30.0: `parseInstallFlag`'s default branch
 *   returns nothing for it, and without a flag the script exits early as a "local install"
 *   whenever `npm_config_local_prefix` and `npm_package_json` point at the package, which Deno's
 *   script runner sets. That install exits 0 and downloads nothing, so an install is trusted only
 *   once the provider files are there.
 * - Deno writes `.scripts-run` beside the package in node_modules/.deno/ after running its
 *   scripts, even when they failed, and never runs them again while the marker is there: a
 *   second attempt (after a network error, or to switch builds) must remove it first.
 */
import { basename, join } from "node:path";
import {
  cudaBuildExists,
  cudaLibraries,
  missingCudaLibraries,
  ortBinDir,
  providerFilesPresent,
  providerLibraryFiles,
  type RunTool,
  runTool,
} from "../runtime/ort_gpu.ts";

/** The environment that selects the CUDA 12 build in onnxruntime-node's install script. */
export const installEnv = { ONNXRUNTIME_NODE_INSTALL_CUDA: "v12" } as const;

/** What the setup does to the machine, so that tests can stand in for each. */
export interface SetupDeps {
  /** `deno install --allow-scripts=npm:onnxruntime-node` with `env` added: the download. */
  install(env: Record<string, string>): Promise<{ code: number; output: string }>;
  /** `xcompare doctor` in a fresh process (a provider library is loaded once per process). */
  doctor(): Promise<number>;
  runTool: RunTool;
  log(line: string): void;
}

export interface SetupOptions {
  /** Reinstall even when the provider files are there. */
  force: boolean;
  /** onnxruntime-node's native folder (runtime/ort_gpu.ts `ortBinDir`). */
  binDir: string;
  os: string;
  arch: string;
}

/** Deno's "scripts ran" marker for the package whose native folder is `binDir`, if Deno's layout. */
export function scriptsMarker(binDir: string): string | null {
  // <store>/onnxruntime-node@V/node_modules/onnxruntime-node/bin/napi-v6/<platform>/<arch>
  const versioned = join(binDir, "..", "..", "..", "..", "..", "..");
  return basename(versioned).startsWith("onnxruntime-node@")
    ? join(versioned, ".scripts-run")
    : null;
}

const exists = (p: string) => Deno.stat(p).then(() => true, () => false);

/** The last lines of an install's output, where the script's error is. */
const tail = (text: string, n = 8) =>
  text.trim().split("\n").filter((l) => l.trim()).slice(-n).map((l) => `    ${l}`).join("\n");

/** Installs the CUDA providers unless present, checks their libraries, runs doctor. */
export async function setupGpu(o: SetupOptions, deps: SetupDeps): Promise<number> {
  const { log } = deps;
  if (!cudaBuildExists(o.os, o.arch)) {
    log(
      `setup-gpu: onnxruntime-node publishes a CUDA build for linux/x86_64 only, not ` +
        `${o.os}/${o.arch}; runs here use the CPU provider.`,
    );
    return 1;
  }
  const needed = providerLibraryFiles.cuda;
  const present = async () => {
    const files = await providerFilesPresent(o.binDir);
    return needed.every((f) => files[f]);
  };
  if (!o.force && await present()) {
    log(`setup-gpu: the CUDA provider is already installed in ${o.binDir} (--force reinstalls)`);
  } else {
    const marker = scriptsMarker(o.binDir);
    if (marker && await exists(marker)) await Deno.remove(marker);
    log(
      "setup-gpu: deno install --allow-scripts=npm:onnxruntime-node with " +
        "ONNXRUNTIME_NODE_INSTALL_CUDA=v12 (downloads Microsoft.ML.OnnxRuntime.Gpu.Linux from " +
        "api.nuget.org, a few hundred MB)",
    );
    const r = await deps.install({ ...installEnv });
    if (!await present()) {
      log(
        `setup-gpu: the CUDA provider was not installed (${needed.join(", ")} absent from ` +
          `${o.binDir}; deno install exited with ${r.code}). Its output ends:\n${
            tail(r.output)
          }\n` +
          "The script needs https access to api.nuget.org; behind a proxy set " +
          "GLOBAL_AGENT_HTTPS_PROXY (the script reads it through global-agent).",
      );
      return 1;
    }
    log(`setup-gpu: installed ${needed.join(", ")} into ${o.binDir}`);
  }
  const libs = await missingCudaLibraries(o.binDir, deps.runTool);
  const how = libs.method === "ldd"
    ? "ldd on libonnxruntime_providers_cuda.so"
    : `a search for ${cudaLibraries.join(", ")}`;
  log(
    libs.missing.length
      ? `setup-gpu: the CUDA provider will not load until these are found (${how}): ` +
        `${libs.missing.join(", ")}. Install CUDA 12's runtime libraries and cuDNN 9 (e.g. ` +
        "apt packages cuda-libraries-12-x and libcudnn9-cuda-12, or the nvidia-*-cu12 pip " +
        "wheels), or add the folder that holds them to LD_LIBRARY_PATH."
      : `setup-gpu: CUDA and cuDNN libraries found (${how})`,
  );
  log("setup-gpu: xcompare doctor says:");
  await deps.doctor();
  return 0;
}

const ROOT = new URL("..", import.meta.url).pathname;

/** The real boundary: Deno itself, run from the repository root. */
async function denoInstall(env: Record<string, string>) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["install", "--allow-scripts=npm:onnxruntime-node"],
    cwd: ROOT,
    env: { ...env, NO_COLOR: "1" }, // plain text for the error lines quoted on failure
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: r.code, output: text.decode(r.stdout) + text.decode(r.stderr) };
}

/** `deno task doctor`, under that task's own flags (deno.json). */
async function runDoctor(): Promise<number> {
  const task: string = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).tasks.doctor;
  const r = await new Deno.Command(Deno.execPath(), {
    args: task.split(" ").slice(1),
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return r.code;
}

if (import.meta.main) {
  const force = Deno.args.includes("--force");
  const unknown = Deno.args.filter((a) => a !== "--force");
  if (unknown.length) {
    console.error(`setup-gpu: unknown argument "${unknown[0]}" (only --force)`);
    Deno.exit(2);
  }
  Deno.exit(
    await setupGpu(
      { force, binDir: ortBinDir(), os: Deno.build.os, arch: Deno.build.arch },
      { install: denoInstall, doctor: runDoctor, runTool, log: (l) => console.error(l) },
    ),
  );
}
