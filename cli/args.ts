/**
 * The one argument parser of the `xcompare` CLI (JSR's @std/cli is unreachable here, so this uses
 * node:util's parseArgs). Every verb's flags are declared here, with the sentence `--help` shows,
 * and nowhere else. A mistyped verb or flag gets a "did you mean" instead of parseArgs' own text.
 */
import { parseArgs } from "node:util";
import { type Provider, providers } from "../lib/runtime_identity.ts";
import { suggest } from "../lib/schema.ts";

type Flag = {
  type: "string" | "boolean";
  multiple?: boolean;
  short?: string;
  /** What the value is, in `--help` (`--jobs <N>`). */
  value?: string;
  /** One line for `--help`. */
  desc: string;
};

const common = {
  config: {
    type: "string",
    short: "c",
    value: "FILE",
    desc: "the config (default configs/default.json)",
  },
  help: { type: "boolean", short: "h", desc: "this help" },
} as const satisfies Record<string, Flag>;

/** `--set stage.param=value`, on every verb that loads a config to run, check or compare it. */
const set = {
  type: "string",
  multiple: true,
  value: "STAGE.PARAM=VALUE",
  desc: "override a stage param (value as JSON if it parses, else a string); validated like the " +
    "config, recorded in run.json and part of the run id",
} as const satisfies Flag;

const runId = {
  type: "string",
  value: "ID",
  desc: "the run's id (default: the config file's name and a short content hash)",
} as const satisfies Flag;

const noWait = {
  type: "boolean",
  desc: "exit with a message naming the holder instead of waiting while a run holds the store",
} as const satisfies Flag;

export const verbs = {
  reproduce: {
    summary: "run the pipeline (cached units are reused; an unchanged run says 'up to date')",
    flags: {
      ...common,
      set,
      only: {
        type: "string",
        multiple: true,
        value: "STAGE",
        desc: "run only this stage; its upstream must be in the store",
      },
      from: { type: "string", value: "STAGE", desc: "recompute this stage and all after it" },
      force: {
        type: "string",
        multiple: true,
        value: "STAGE",
        desc: "recompute this stage although it is cached",
      },
      "dry-run": { type: "boolean", desc: "say what would be computed and what is cached" },
      verify: {
        type: "boolean",
        desc:
          "recheck every cached file's sha256 (corrupt entries are moved aside, recomputed) and the report's files",
      },
      jobs: {
        type: "string",
        short: "j",
        value: "N",
        desc: "units of every stage computed at once (default: each stage's own choice)",
      },
      shard: {
        type: "string",
        value: "i/n",
        desc: "compute one shard's units into a shared store (cluster runs)",
      },
      "no-wait": noWait,
      "run-id": runId,
      "require-provider": {
        type: "string",
        value: "P",
        desc: "stop at once unless execution provider P opens (cuda, tensorrt, cpu): no fallback",
      },
      lenient: {
        type: "boolean",
        desc: "skip and list images with an unknown class or no labels row (dataset.lenient)",
      },
      strict: { type: "boolean", desc: "exit 1 when any image was skipped" },
    },
  },
  status: {
    summary: "say which stages are fresh or stale, and why",
    flags: {
      ...common,
      set,
      lenient: { type: "boolean", desc: "as reproduce --lenient (dataset.lenient)" },
    },
  },
  dag: {
    summary: "the stage graph with each stage's fresh and stale units (text, Mermaid or DOT)",
    flags: {
      ...common,
      set,
      mermaid: { type: "boolean", desc: "print a Mermaid flowchart" },
      dot: { type: "boolean", desc: "print a Graphviz DOT graph" },
    },
  },
  diff: {
    summary: "compare two runs: params, every table number with its delta, changed verdicts",
    args: "A [B]",
    argsHelp: "A and B: run ids (reports/<id>), run folders, or configs that have run (the " +
      "newest run of each); with --set, B defaults to A, so `diff CONFIG --set ...` compares a config with " +
      "its variant",
    flags: {
      help: common.help,
      set: {
        ...set,
        desc: "override a stage param of B (when B is a config), as reproduce --set did",
      },
      json: { type: "boolean", desc: "print the comparison as JSON" },
      md: { type: "boolean", desc: "print the comparison as Markdown" },
    },
  },
  gc: {
    summary: "remove store entries that no lockfile references (after running runs finish)",
    flags: {
      ...common,
      reports: {
        type: "string",
        value: "KEEP",
        desc: "first prune run folders under reports/: keep the newest KEEP, the one " +
          "reports/latest copies, and shard runs whose final run is not written yet",
      },
      "dry-run": { type: "boolean", desc: "say what would be removed, remove nothing" },
      "no-wait": noWait,
      force: {
        type: "boolean",
        desc: "collect although a lockfile cannot be read (what only it names is removed)",
      },
    },
  },
  evaluate: {
    summary: "top-1/top-5 accuracy of an ONNX model on a labelled image folder, as JSON",
    flags: {
      help: common.help,
      model: { type: "string", value: "M.onnx", desc: "the model (required)" },
      card: { type: "string", value: "C.json", desc: "its card (default: M.json beside it)" },
      images: { type: "string", value: "DIR", desc: "the image folder (required)" },
      labels: { type: "string", value: "FILE", desc: "file,label CSV (required)" },
      limit: { type: "string", value: "N", desc: "evaluate the first N images only" },
      provider: { type: "string", value: "P", desc: "execution provider (default cpu)" },
    },
  },
  "grad-check": {
    summary: "compare the gradient graph with finite differences (kinks frozen), as JSON; " +
      "exit 1 when the worst relative error exceeds --threshold (default 1e-3), 2 when no check " +
      "was made (a usage error, a model or card that cannot be read, another model's card)",
    flags: {
      help: common.help,
      model: { type: "string", value: "M.onnx", desc: "the model (required)" },
      card: { type: "string", value: "C.json", desc: "its card: inputs drawn at its scale" },
      target: { type: "string", value: "logit|prob", desc: "what is differentiated (logit)" },
      threshold: { type: "string", value: "T", desc: "worst relative error allowed (1e-3)" },
      directions: { type: "string", value: "N", desc: "random directions checked (3)" },
      eps: { type: "string", value: "E,E,...", desc: "finite-difference steps (0.1 halved 10x)" },
      batch: { type: "string", value: "N", desc: "rows per run (2)" },
      seed: { type: "string", value: "N", desc: "seed of the inputs and directions (1)" },
    },
  },
  doctor: {
    summary: "say whether each execution provider opens here (GPU included), why not, " +
      "and the next step",
    flags: {
      help: common.help,
      json: { type: "boolean", desc: "print the findings as JSON" },
      "require-provider": { type: "string", value: "P", desc: "exit 1 unless provider P opens" },
    },
  },
  plan: {
    summary: "estimate model evaluations and hours per stage",
    flags: {
      ...common,
      set,
      throughput: {
        type: "string",
        value: "T.json",
        desc: "masks/s per model on another device, for its hours column",
      },
      json: { type: "boolean", desc: "print the plan as JSON" },
      "no-measure": {
        type: "boolean",
        desc: "do not benchmark the present models (stages the store has measured still are)",
      },
    },
  },
  slurm: {
    summary: "write (and optionally submit) sbatch job arrays for sharded runs; " +
      "--resume RUN resubmits only what a run is missing",
    flags: {
      ...common,
      shards: { type: "string", value: "N", desc: "shards per wave (required)" },
      partition: { type: "string", value: "P", desc: "Slurm partition" },
      "gpus-per-task": { type: "string", value: "G", desc: "GPUs per shard task" },
      out: { type: "string", value: "DIR", desc: "where the scripts go (reports/slurm/<id>)" },
      submit: {
        type: "boolean",
        desc: "submit the waves and the final job (`deno task slurm`, which may run sbatch)",
      },
      "run-id": runId,
      time: { type: "string", value: "T", desc: "time limit per task (sbatch --time)" },
      "cpus-per-task": { type: "string", value: "N", desc: "CPUs per shard task" },
      mem: { type: "string", value: "M", desc: "memory per task (sbatch --mem, default 16G)" },
      "require-provider": {
        type: "string",
        value: "P",
        desc: "provider the shards must open (default cuda with GPUs; none: off)",
      },
      resume: { type: "string", value: "RUN", desc: "resubmit only what run RUN is missing" },
    },
  },
  k8s: {
    summary: "write one Kubernetes Indexed Job per wave, a final Job and the run.sh that " +
      "chains them",
    flags: {
      ...common,
      shards: { type: "string", value: "N", desc: "shards per wave (required)" },
      image: { type: "string", value: "IMAGE", desc: "container image (xcompare:latest)" },
      out: { type: "string", value: "DIR", desc: "where the Job manifests and run.sh go" },
      "run-id": runId,
      pvc: { type: "string", value: "NAME", desc: "claim of the shared store (xcompare-store)" },
      "data-pvc": { type: "string", value: "C:P", desc: "claim and mount path of the data" },
      "models-pvc": { type: "string", value: "C:P", desc: "claim and mount path of the models" },
      "gpus-per-task": { type: "string", value: "G", desc: "GPUs per pod" },
      "cpus-per-task": { type: "string", value: "N", desc: "CPUs per pod" },
      mem: { type: "string", value: "M", desc: "memory per pod" },
      time: { type: "string", value: "T", desc: "activeDeadlineSeconds per Job (default 24h)" },
      retries: { type: "string", value: "N", desc: "backoffLimitPerIndex (default 2)" },
      "require-provider": {
        type: "string",
        value: "P",
        desc: "provider the pods must open (default cuda with GPUs; none: off)",
      },
    },
  },
  "wave-check": {
    summary: "(in cluster jobs) exit 3 naming the missing units unless every unit of the " +
      "earlier waves of a sharded run is in the store",
    flags: {
      ...common,
      "run-id": runId,
      waves: { type: "string", value: "L", desc: "the run's waves, as the job scripts pass them" },
      wave: { type: "string", value: "K", desc: "this job's wave" },
      "job-ids": { type: "string", value: "IDS", desc: "Slurm job ids, to name failed tasks" },
    },
  },
} as const satisfies Record<
  string,
  { summary: string; args?: string; argsHelp?: string; flags: Record<string, Flag> }
>;

export type Verb = keyof typeof verbs;

/** A verb's flags as parsed: strings, booleans, and lists for repeatable flags. */
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Parsed {
  verb: Verb;
  values: Values;
  /** Arguments that are not flags (only verbs that declare `args` take any). */
  positionals: string[];
}

export class UsageError extends Error {
  override name = "UsageError";
}

type VerbSpec = { summary: string; args?: string; argsHelp?: string; flags: Record<string, Flag> };
const specOf = (v: Verb) => verbs[v] as VerbSpec;

export function usage(verb?: Verb): string {
  if (verb) {
    const spec = specOf(verb);
    const left = Object.entries(spec.flags).map(([k, f]) =>
      `${f.short ? `-${f.short}, ` : "    "}--${k}${f.value ? ` <${f.value}>` : ""}`
    );
    const width = Math.max(...left.map((l) => l.length)) + 2;
    const rows = Object.values(spec.flags).map((f, i) =>
      wrap(`${f.desc}${f.multiple ? " (repeatable)" : ""}`, 98 - width)
        .map((line, j) => `  ${(j ? "" : left[i]).padEnd(width)}${line}`).join("\n")
    );
    return [
      `usage: deno task xcompare ${verb}${spec.args ? ` ${spec.args}` : ""} [flags]`,
      "",
      spec.summary,
      ...(spec.argsHelp ? ["", ...wrap(spec.argsHelp, 100)] : []),
      "",
      "flags:",
      ...rows,
    ].join("\n");
  }
  return "usage: deno task xcompare <verb> [flags]\n\nverbs:\n" +
    Object.entries(verbs).map(([k, v]) => `  ${k.padEnd(11)} ${v.summary}`).join("\n") +
    "\n\n`deno task reproduce` is `xcompare reproduce`; `xcompare <verb> --help` lists its flags.";
}

/** Words of `text` in lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/** `, did you mean "x"?` when a known word is close, else "". */
const closest = (word: string, known: string[]) => {
  const hint = suggest(word, known);
  return hint.startsWith(",") ? hint : "";
};

export function parse(argv: string[]): Parsed {
  const [verb, ...rest] = argv;
  if (!verb || verb === "--help" || verb === "-h" || verb === "help") {
    throw new UsageError(usage());
  }
  if (!Object.hasOwn(verbs, verb)) {
    const hint = closest(verb, Object.keys(verbs));
    throw new UsageError(
      `xcompare: unknown verb "${verb}"${hint}\n\n${
        hint ? "`xcompare --help` lists the verbs." : usage()
      }`,
    );
  }
  const v = verb as Verb;
  const spec = specOf(v);
  let parsed: {
    values: Record<string, unknown>;
    positionals: string[];
    tokens?: { kind: string; name?: string }[];
  };
  try {
    parsed = parseArgs({
      args: rest,
      options: spec.flags,
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
  } catch (e) {
    throw new UsageError(
      `xcompare ${v}: ${explainParseError(e as Error & { code?: string }, spec.flags, rest)}\n` +
        `(\`xcompare ${v} --help\` lists its flags)`,
    );
  }
  // parseArgs keeps the last of a repeated single-value flag: `-c a.json -c b.json` is a mistake.
  const seen = new Set<string>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== "option" || !t.name) continue;
    const flag = (spec.flags as Record<string, Flag>)[t.name];
    if (flag && !flag.multiple && flag.type === "string" && seen.has(t.name)) {
      throw new UsageError(
        `xcompare ${v}: --${t.name} given twice (it takes one value)\n` +
          `(\`xcompare ${v} --help\` lists its flags)`,
      );
    }
    seen.add(t.name);
  }
  const max = spec.args ? spec.args.split(" ").length : 0;
  if (parsed.positionals.length > max && !parsed.values.help) {
    const extra = parsed.positionals[max];
    throw new UsageError(
      `xcompare ${v}: unexpected argument "${extra}"${max ? ` (${v} takes ${spec.args})` : ""}\n` +
        `(\`xcompare ${v} --help\` lists its flags)`,
    );
  }
  return { verb: v, values: parsed.values as Values, positionals: parsed.positionals };
}

/**
 * parseArgs' errors in our words: the flag, what was wrong, and the nearest valid flag. A value
 * that starts with "-" (`--threshold -1`) reads as a flag, so parseArgs finds the value missing:
 * the message says so and shows the `--flag=-1` form that passes it.
 */
function explainParseError(
  e: Error & { code?: string },
  flags: Record<string, Flag>,
  args: readonly string[],
): string {
  const names = Object.keys(flags);
  const quoted = /'(-{1,2}[^' ,]+)'/.exec(e.message)?.[1] ?? "";
  const name = /--([\w-]+)/.exec(e.message)?.[1] ?? quoted.replace(/^-+/, "");
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const hint = closest(name, names);
    return `unknown flag ${quoted}${hint ? hint.replace(/"([^"]+)"/, "--$1") : ""}`;
  }
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const flag = names.find((k) => k === name || flags[k].short === name) ?? name;
    if (flags[flag]?.type === "boolean") return `--${flag} takes no value`;
    const at = args.findIndex((a) => a === `--${flag}` || a === `-${flags[flag]?.short}`);
    const next = at < 0 ? undefined : args[at + 1];
    if (next !== undefined && /^-\.?\d/.test(next)) {
      return `--${flag} ${next}: a value starting with "-" reads as a flag; ` +
        `write --${flag}=${next}`;
    }
    return `--${flag} needs a value (<${flags[flag]?.value ?? "value"}>)`;
  }
  return e.message;
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

/** A non-negative integer flag (`--gpus-per-task 0`, `--retries 0` are meaningful). */
export function countFlag(values: Values, name: string, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new UsageError(`--${name}: expected a non-negative integer, got "${raw}"`);
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
