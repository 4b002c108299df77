/**
 * ONNX Runtime sessions with provider fallback: a config that asks for a GPU still runs (on CPU,
 * with one warning) where the GPU provider is missing, and the provider actually used is recorded
 * for provenance and cache keys.
 */
import * as ort from "onnxruntime-node";
import type { Provider, RuntimeIdentity } from "../lib/runtime_identity.ts";
import { readModelFile } from "./onnx/load.ts";

export interface SessionOptions {
  /** Providers in order of preference; CPU is always the last resort. */
  providers: Provider[];
  /** Intra-op threads; undefined lets ONNX Runtime choose. */
  threads?: number;
  /** Graph optimisation level. */
  graphOptimization: "disabled" | "basic" | "extended" | "all";
  /**
   * The provider a session must open on (config `runtime.requireProvider`, `--require-provider`):
   * set, it is the only one tried, and failing to open on it is an error instead of a fallback.
   */
  requireProvider?: Provider;
}

export const defaults: SessionOptions = {
  providers: ["cpu"],
  threads: undefined,
  graphOptimization: "all",
};

/** What the Scorer needs of a session: an `ort.InferenceSession` or a `WorkerSession`. */
export interface RunSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(
    feeds: ort.InferenceSession.FeedsType,
    fetches: string[],
  ): Promise<ort.InferenceSession.ReturnType>;
  release(): Promise<void>;
}

export interface CreatedSession {
  session: ort.InferenceSession;
  /** The provider the session was created with. */
  provider: Provider;
  ortVersion: string;
}

/** Providers that failed to load in this process: later sessions skip them without retrying. */
const unavailable = new Map<Provider, string>();
let warned = false;
let lastProvider: Provider = "cpu";

export function ortVersion(): string {
  return ort.env.versions.node ?? ort.env.versions.common ?? "unknown";
}

/**
 * Turns onnxruntime's own native log off for this process; takes effect only before its first
 * session. For `doctor`, which explains every provider that does not open in its own words, so the
 * native error lines would only repeat that in red.
 */
export function silenceNativeLog(): void {
  ort.env.logLevel = "fatal";
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
  const source = typeof model === "string" ? model : "<model bytes>";
  const bytes = typeof model === "string" ? await readModelFile(model) : model;
  const opened = await openOnProviders(bytes, options, [...unavailable.keys()], source);
  recordProviders(opened.failures, opened.provider);
  return { session: opened.session, provider: opened.provider, ortVersion: ortVersion() };
}

/** A provider that failed to load, and why. */
export type ProviderFailure = [Provider, string];

/**
 * The fallback loop without the process-wide memory: tries the providers not in `skip`, returns
 * the session and the failures. A session worker runs this and the main thread records them.
 */
export async function openOnProviders(
  bytes: Uint8Array,
  options: Partial<SessionOptions>,
  skip: readonly Provider[],
  source = "<model bytes>",
): Promise<{ session: ort.InferenceSession; provider: Provider; failures: ProviderFailure[] }> {
  const opts = { ...defaults, ...options };
  const required = opts.requireProvider;
  const wanted: Provider[] = required
    ? [required]
    : [...opts.providers.filter((p) => p !== "cpu"), "cpu"];
  const failures: ProviderFailure[] = [];
  for (const provider of wanted) {
    if (skip.includes(provider) && provider !== "cpu" && !required) continue;
    const base: ort.InferenceSession.SessionOptions = {
      executionProviders: [provider],
      graphOptimizationLevel: opts.graphOptimization,
      interOpNumThreads: 1,
      ...(opts.threads !== undefined ? { intraOpNumThreads: opts.threads } : {}),
    };
    try {
      const session = await ort.InferenceSession.create(bytes, base);
      return { session, provider, failures };
    } catch (e) {
      const msg = (e as Error).message.split("\n")[0];
      if (provider === "cpu" || isModelError(msg)) {
        throw new Error(`${source}: cannot create an ONNX Runtime session: ${msg}`);
      }
      if (required) throw new RequiredProviderError(required, msg, source);
      failures.push([provider, msg]);
    }
  }
  throw new Error(`${source}: no execution provider could be used`);
}

/** A session could not open on the provider a config or `--require-provider` requires. */
export class RequiredProviderError extends Error {
  override name = "RequiredProviderError";
  constructor(readonly provider: Provider, readonly reason: string, source = "<model bytes>") {
    super(
      `${source === "<model bytes>" ? "" : `${source}: `}execution provider ${provider} is ` +
        "required (runtime.requireProvider or " +
        `--require-provider) but a session does not open on it: ${reason}. ` +
        "`deno task doctor` says why and what to do.",
    );
  }
}

/** Providers that failed in this process so far (sessions elsewhere skip them too). */
export function unavailableProviders(): Provider[] {
  return [...unavailable.keys()];
}

/** Remembers failed providers, warns once per process, and notes the provider used. */
export function recordProviders(failures: readonly ProviderFailure[], used: Provider): void {
  for (const [p, msg] of failures) unavailable.set(p, msg);
  if (failures.length > 0 && !warned) {
    warned = true;
    console.warn(
      `xcompare: execution provider(s) ${
        failures.map(([p, m]) => `${p} (${m})`).join("; ")
      } unavailable; running on ${used}. (This warning is shown once per process.)`,
    );
  }
  lastProvider = used;
}

/** Provider-load failures mention the provider library; anything else is the model's fault. */
function isModelError(msg: string): boolean {
  return !/ExecutionProvider|shared library|provider|CUDA|TensorRT|cuda|libcu/i.test(msg);
}

/** Forgets provider failures and the warning, so a test can observe the first fallback again. */
export function resetProviderFallback(): void {
  unavailable.clear();
  warned = false;
}
