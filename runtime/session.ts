/**
 * ONNX Runtime sessions with provider fallback: a config that asks for a GPU still runs (on CPU,
 * with one warning) where the GPU provider is missing, and the provider actually used is recorded
 * for provenance and cache keys.
 */
import * as ort from "onnxruntime-node";

export type Provider = "cuda" | "tensorrt" | "cpu";

export interface SessionOptions {
  /** Providers in order of preference; CPU is always the last resort. */
  providers: Provider[];
  /** Intra-op threads; undefined lets ONNX Runtime choose. */
  threads?: number;
  /** Graph optimisation level. */
  graphOptimization: "disabled" | "basic" | "extended" | "all";
}

export const defaults: SessionOptions = {
  providers: ["cpu"],
  threads: undefined,
  graphOptimization: "all",
};

export interface CreatedSession {
  session: ort.InferenceSession;
  /** The provider the session was created with. */
  provider: Provider;
  ortVersion: string;
}

export interface RuntimeIdentity {
  ortVersion: string;
  provider: Provider;
}

/** Providers that failed to load in this process: later sessions skip them without retrying. */
const unavailable = new Map<Provider, string>();
let warned = false;
let lastProvider: Provider = "cpu";

export function ortVersion(): string {
  return ort.env.versions.node ?? ort.env.versions.common ?? "unknown";
}

/** The runtime behind results: the ORT version and the provider of `s` (or of the last session). */
export function runtimeIdentity(s?: CreatedSession): RuntimeIdentity {
  return { ortVersion: ortVersion(), provider: s?.provider ?? lastProvider };
}

/** Creates a session on the first provider of `options.providers` that loads, else on CPU. */
export async function createSession(
  model: Uint8Array | string,
  options: Partial<SessionOptions> = {},
): Promise<CreatedSession> {
  const opts = { ...defaults, ...options };
  const source = typeof model === "string" ? model : "<model bytes>";
  const bytes = typeof model === "string" ? await readModel(model) : model;
  const wanted: Provider[] = [...opts.providers.filter((p) => p !== "cpu"), "cpu"];
  const failures: string[] = [];
  for (const provider of wanted) {
    const known = unavailable.get(provider);
    if (known !== undefined) continue;
    const base: ort.InferenceSession.SessionOptions = {
      executionProviders: [provider],
      graphOptimizationLevel: opts.graphOptimization,
      interOpNumThreads: 1,
      ...(opts.threads !== undefined ? { intraOpNumThreads: opts.threads } : {}),
    };
    try {
      const session = await ort.InferenceSession.create(bytes, base);
      if (failures.length > 0 && !warned) {
        warned = true;
        console.warn(
          `xcompare: execution provider(s) ${failures.join("; ")} unavailable; ` +
            `running on ${provider}. (This warning is shown once per process.)`,
        );
      }
      lastProvider = provider;
      return { session, provider, ortVersion: ortVersion() };
    } catch (e) {
      const msg = (e as Error).message.split("\n")[0];
      if (provider === "cpu") {
        throw new Error(`${source}: cannot create an ONNX Runtime session: ${msg}`);
      }
      if (isModelError(msg)) {
        throw new Error(`${source}: cannot create an ONNX Runtime session: ${msg}`);
      }
      unavailable.set(provider, msg);
      failures.push(`${provider} (${msg})`);
    }
  }
  throw new Error(`${source}: no execution provider could be used`);
}

/** Provider-load failures mention the provider library; anything else is the model's fault. */
function isModelError(msg: string): boolean {
  return !/ExecutionProvider|shared library|provider|CUDA|TensorRT|cuda|libcu/i.test(msg);
}

async function readModel(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read model (${(e as Error).message})`);
  }
}

/** Forgets provider failures and the warning, so a test can observe the first fallback again. */
export function resetProviderFallback(): void {
  unavailable.clear();
  warned = false;
}
