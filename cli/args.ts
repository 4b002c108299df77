/**
 * The one argument parser of the `xcompare` CLI (JSR's @std/cli is unreachable here, so this uses
 * node:util's parseArgs). Every verb's flags are declared here and nowhere else.
 */
import { parseArgs } from "node:util";
import { type Provider, providers } from "../lib/runtime_identity.ts";

type Flag = { type: "string" | "boolean"; multiple?: boolean; short?: string };

const common: Record<string, Flag> = {
  config: { type: "string", short: "c" },
  help: { type: "boolean", short: "h" },
};

export const verbs = {
  reproduce: {
    summary: "run the pipeline (cached units are reused)",
    flags: {
      ...common,
      only: { type: "string", multiple: true },
      from: { type: "string" },
      force: { type: "string", multiple: true },
      "dry-run": { type: "boolean" },
      verify: { type: "boolean" },
      jobs: { type: "string", short: "j" },
      shard: { type: "string" },
      "no-wait": { type: "boolean" },
      "run-id": { type: "string" },
      "require-provider": { type: "string" },
      lenient: { type: "boolean" },
      strict: { type: "boolean" },
    },
  },
  status: {
    summary: "say which stages are fresh or stale, and why",
    flags: { ...common, lenient: { type: "boolean" } },
  },
  gc: {
    summary: "remove store entries that no lockfile references (after running runs finish)",
    flags: {
      ...common,
      "dry-run": { type: "boolean" },
      "no-wait": { type: "boolean" },
      force: { type: "boolean" },
    },
  },
  evaluate: {
    summary: "top-1/top-5 accuracy of an ONNX model on a labelled image folder, as JSON",
    flags: {
      ...common,
      model: { type: "string" },
      card: { type: "string" },
      images: { type: "string" },
      labels: { type: "string" },
      limit: { type: "string" },
      provider: { type: "string" },
    },
  },
  "grad-check": {
    summary: "compare the gradient graph with finite differences (kinks frozen), as JSON; " +
      "exit 1 when the worst relative error exceeds --threshold (default 1e-3)",
    flags: {
      ...common,
      model: { type: "string" },
      card: { type: "string" },
      target: { type: "string" },
      threshold: { type: "string" },
      directions: { type: "string" },
      eps: { type: "string" },
      batch: { type: "string" },
      seed: { type: "string" },
    },
  },
  doctor: {
    summary: "say whether each execution provider opens here (GPU included), why not, " +
      "and the next step",
    flags: { help: common.help, json: { type: "boolean" }, "require-provider": { type: "string" } },
  },
  plan: {
    summary: "estimate model evaluations and hours per stage",
    flags: {
      ...common,
      throughput: { type: "string" },
      json: { type: "boolean" },
      "no-measure": { type: "boolean" },
    },
  },
  slurm: {
    summary: "write (and optionally submit) sbatch job arrays for sharded runs; " +
      "--resume RUN resubmits only what a run is missing",
    flags: {
      ...common,
      shards: { type: "string" },
      partition: { type: "string" },
      "gpus-per-task": { type: "string" },
      out: { type: "string" },
      submit: { type: "boolean" },
      "run-id": { type: "string" },
      time: { type: "string" },
      "cpus-per-task": { type: "string" },
      mem: { type: "string" },
      "require-provider": { type: "string" },
      resume: { type: "string" },
    },
  },
  k8s: {
    summary: "write one Kubernetes Indexed Job per wave, a final Job and the run.sh that " +
      "chains them",
    flags: {
      ...common,
      shards: { type: "string" },
      image: { type: "string" },
      out: { type: "string" },
      "run-id": { type: "string" },
      pvc: { type: "string" },
      "data-pvc": { type: "string" },
      "models-pvc": { type: "string" },
      "gpus-per-task": { type: "string" },
      "cpus-per-task": { type: "string" },
      mem: { type: "string" },
      time: { type: "string" },
      retries: { type: "string" },
      "require-provider": { type: "string" },
    },
  },
  "wave-check": {
    summary: "(in cluster jobs) exit 3 naming the missing units unless every unit of the " +
      "earlier waves of a sharded run is in the store",
    flags: {
      ...common,
      "run-id": { type: "string" },
      waves: { type: "string" },
      wave: { type: "string" },
      "job-ids": { type: "string" },
    },
  },
} as const satisfies Record<string, { summary: string; flags: Record<string, Flag> }>;

export type Verb = keyof typeof verbs;

/** A verb's flags as parsed: strings, booleans, and lists for repeatable flags. */
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Parsed {
  verb: Verb;
  values: Values;
}

export class UsageError extends Error {
  override name = "UsageError";
}

export function usage(verb?: Verb): string {
  if (verb) {
    const flags = Object.entries(verbs[verb].flags).map(([k, f]) =>
      `  --${k}${f.type === "string" ? " <value>" : ""}${
        "multiple" in f && f.multiple ? " (repeatable)" : ""
      }`
    );
    return `xcompare ${verb}: ${verbs[verb].summary}\n${flags.join("\n")}`;
  }
  return "usage: deno task xcompare <verb> [flags]\n\nverbs:\n" +
    Object.entries(verbs).map(([k, v]) => `  ${k.padEnd(11)} ${v.summary}`).join("\n") +
    "\n\n`deno task reproduce` is `xcompare reproduce`; `xcompare <verb> --help` lists its flags.";
}

export function parse(argv: string[]): Parsed {
  const [verb, ...rest] = argv;
  if (!verb || verb === "--help" || verb === "-h" || verb === "help") {
    throw new UsageError(usage());
  }
  if (!(verb in verbs)) throw new UsageError(`unknown verb "${verb}"\n\n${usage()}`);
  const v = verb as Verb;
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: verbs[v].flags as Record<string, Flag>,
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length) throw new Error(`unexpected argument "${positionals[0]}"`);
    return { verb: v, values: values as Parsed["values"] };
  } catch (e) {
    throw new UsageError(`xcompare ${v}: ${(e as Error).message}\n\n${usage(v)}`);
  }
}

/** A positive integer flag, with a clear error naming it. */
export function intFlag(values: Values, name: string, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`--${name}: expected a positive integer, got "${raw}"`);
  }
  return n;
}

/** `--require-provider P`: one of the execution providers a config may name. */
export function providerFlag(raw: unknown): Provider | undefined {
  if (raw === undefined) return undefined;
  if (!providers.includes(raw as Provider)) {
    throw new UsageError(
      `--require-provider: expected one of ${providers.join(", ")}, got "${raw}"`,
    );
  }
  return raw as Provider;
}

/** `--shard i/n` with 0 <= i < n. */
export function shardFlag(raw: unknown): { index: number; count: number } | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(String(raw));
  const index = m ? Number(m[1]) : NaN, count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) {
    throw new UsageError(`--shard: expected i/n with 0 <= i < n, got "${raw}"`);
  }
  return { index, count };
}
