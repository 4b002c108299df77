/**
 * `xcompare doctor [--json] [--require-provider P]`: can this machine run models on a GPU, and if
 * not, why and what to do. It opens a one-node model on each execution provider alone (the probe
 * that keys the caches, runtime/probe.ts), looks at onnxruntime-node's CUDA provider files and the
 * CUDA/cuDNN libraries they need (runtime/ort_gpu.ts), lists the GPUs `nvidia-smi` sees, and says
 * the next step. With `--require-provider P` it exits 1 unless P opens, so scripts can gate on it.
 */
import { providerFlag, type Values } from "./args.ts";
import { type Provider, providers } from "../lib/runtime_identity.ts";
import { probeProvider, type ProviderProbe } from "../runtime/probe.ts";
import { ortVersion, silenceNativeLog } from "../runtime/session.ts";
import {
  cudaBuildExists,
  type GpuListing,
  type LibraryCheck,
  listGpus,
  missingCudaLibraries,
  ortBinDir,
  providerFilesPresent,
  providerLibraryFiles,
} from "../runtime/ort_gpu.ts";

/** What doctor found, before any advice. */
export interface DoctorFacts {
  deno: string;
  onnxruntime: string;
  platform: string;
  /** Whether onnxruntime-node publishes a CUDA build for this platform. */
  cudaBuild: boolean;
  /** Where onnxruntime-node keeps its native libraries. */
  binDir: string;
  /** The CUDA build's files, present or not (empty where there is no CUDA build). */
  providerFiles: Record<string, boolean>;
  /** CUDA/cuDNN libraries the loader would not find (null where there is no CUDA build). */
  libraries: LibraryCheck | null;
  probes: ProviderProbe[];
  gpus: GpuListing;
}

/** The facts plus, per provider that does not open, a plainer reason, and the next step. */
export interface DoctorReport extends DoctorFacts {
  why: Partial<Record<Provider, string>>;
  next: string;
}

/** Probes everything doctor reports on this machine. */
export async function gatherFacts(): Promise<DoctorFacts> {
  const cudaBuild = cudaBuildExists();
  const binDir = ortBinDir();
  const probes: ProviderProbe[] = [];
  silenceNativeLog();
  for (const p of providers) probes.push(await probeProvider(p));
  return {
    deno: Deno.version.deno,
    onnxruntime: ortVersion(),
    platform: `${Deno.build.os}/${Deno.build.arch}`,
    cudaBuild,
    binDir,
    providerFiles: cudaBuild ? await providerFilesPresent(binDir) : {},
    libraries: cudaBuild ? await missingCudaLibraries(binDir) : null,
    probes,
    gpus: await listGpus(),
  };
}

const SETUP = "run `deno task setup-gpu` (it downloads onnxruntime-node's CUDA 12 provider from " +
  "NuGet, so it needs network), then `deno task doctor` again";

/** Why each GPU provider does not open, in the machine's terms, and the one next step. */
export function diagnose(f: DoctorFacts): DoctorReport {
  const opens = (p: Provider) => f.probes.find((x) => x.provider === p)?.opens === true;
  const absentFor = (p: "cuda" | "tensorrt") =>
    providerLibraryFiles[p].filter((x) => !f.providerFiles[x]);
  const absent = absentFor("cuda");
  const missing = f.libraries?.missing ?? [];
  const noGpu = f.gpus.tool === null
    ? f.gpus.reason
    : f.gpus.gpus.length === 0
    ? "nvidia-smi lists no GPU"
    : null;
  const why: DoctorReport["why"] = {};
  for (const probe of f.probes) {
    if (probe.opens || probe.provider === "cpu") continue;
    const files = absentFor(probe.provider);
    why[probe.provider] = !f.cudaBuild
      ? `onnxruntime-node has no CUDA build for ${f.platform}`
      : files.length
      ? `not installed: ${files.join(", ")} absent from ${f.binDir}`
      : missing.length
      ? `the loader cannot find ${missing.join(", ")}`
      : noGpu
      ? `no GPU visible (${noGpu})`
      : probe.reason;
  }
  let next: string;
  if (opens("cuda")) {
    next = 'CUDA works. Set runtime.providers to ["cuda", "cpu"] in the config, and ' +
      'runtime.requireProvider to "cuda" (or pass --require-provider cuda) so that a run stops ' +
      "instead of falling back to the CPU.";
  } else if (!f.cudaBuild) {
    next = `onnxruntime-node publishes no CUDA build for ${f.platform} (only linux/x86_64): ` +
      "runs use the CPU provider.";
  } else if (absent.length) {
    next = SETUP + ".";
  } else if (missing.length) {
    next = `install ${missing.join(", ")} (CUDA 12: the CUDA toolkit's runtime libraries or ` +
      "the nvidia-*-cu12 pip wheels; cuDNN 9: libcudnn9-cuda-12 or nvidia-cudnn-cu12), or add " +
      "the folder that holds them to LD_LIBRARY_PATH, then run doctor again.";
  } else if (noGpu) {
    next = `no NVIDIA GPU is visible (${noGpu}): run on a GPU node, or install the NVIDIA ` +
      "driver; the CUDA provider and its libraries are in place.";
  } else {
    const cuda = f.probes.find((p) => p.provider === "cuda");
    next = "the CUDA provider and its libraries are in place and a GPU is listed, but a session " +
      `does not open (${cuda && !cuda.opens ? cuda.reason : "unknown reason"}): check that ` +
      "the driver supports CUDA 12 (nvidia-smi shows the highest CUDA version it supports).";
  }
  return { ...f, why, next };
}

/** The report as text. */
export function formatDoctor(r: DoctorReport): string {
  const out = [
    "xcompare doctor",
    `  deno         ${r.deno}`,
    `  onnxruntime  ${r.onnxruntime} (onnxruntime-node, ${r.platform})`,
    "",
    "execution providers (a one-node model opened and run on each alone):",
  ];
  for (const p of r.probes) {
    out.push(`  ${p.provider.padEnd(9)} ${p.opens ? "opens" : `does not open: ${p.reason}`}`);
    if (r.why[p.provider]) out.push(`  ${"".padEnd(9)} why: ${r.why[p.provider]}`);
  }
  out.push("");
  if (r.cudaBuild) {
    out.push(`CUDA provider files (${r.binDir}):`);
    for (const [f, ok] of Object.entries(r.providerFiles)) {
      out.push(`  ${f.padEnd(38)} ${ok ? "present" : "absent"}`);
    }
    const how = r.libraries?.method === "ldd"
      ? "ldd on the CUDA provider"
      : "searched for CUDA 12 and cuDNN 9";
    out.push(
      `CUDA/cuDNN libraries (${how}): ${
        r.libraries?.missing.length ? `missing ${r.libraries.missing.join(", ")}` : "all found"
      }`,
    );
  } else out.push(`CUDA provider: no CUDA build of onnxruntime-node for ${r.platform}`);
  out.push(
    r.gpus.tool === null
      ? `GPUs: unknown (${r.gpus.reason})`
      : `GPUs (nvidia-smi): ${r.gpus.gpus.length ? "" : "none listed"}`,
    ...(r.gpus.tool === null ? [] : r.gpus.gpus.map((g) => `  ${g}`)),
    "",
    `next: ${r.next}`,
  );
  return out.join("\n");
}

export async function doctorVerb(values: Values): Promise<number> {
  const required = providerFlag(values["require-provider"]);
  const report = diagnose(await gatherFacts());
  console.log(values.json ? JSON.stringify(report, null, 1) : formatDoctor(report));
  const ok = !required || report.probes.some((p) => p.provider === required && p.opens);
  if (!ok) console.error(`xcompare doctor: ${required} does not open on this machine`);
  return ok ? 0 : 1;
}
