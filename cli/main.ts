/**
 * `deno task xcompare <verb>`: the one entry point. args.ts parses the flags; each verb lives in
 * its own module, loaded only when that verb runs.
 */
import { parse, usage, UsageError, type Values, type Verb } from "./args.ts";

type Handler = (values: Values, positionals: string[]) => Promise<number>;

const handlers: Record<Verb, () => Promise<Handler>> = {
  reproduce: async () => (await import("./reproduce.ts")).reproduceVerb,
  status: async () => (await import("./status.ts")).statusVerb,
  dag: async () => (await import("./dag.ts")).dagVerb,
  diff: async () => (await import("./diff.ts")).diffVerb,
  gc: async () => (await import("./gc.ts")).gcVerb,
  evaluate: async () => (await import("./evaluate.ts")).evaluateVerb,
  "grad-check": async () => (await import("./grad_check.ts")).gradCheckVerb,
  doctor: async () => (await import("./doctor.ts")).doctorVerb,
  plan: async () => (await import("./plan.ts")).planVerb,
  slurm: async () => (await import("./slurm.ts")).slurmVerb,
  k8s: async () => (await import("./k8s.ts")).k8sVerb,
  "wave-check": async () => (await import("./wave_check.ts")).waveCheckVerb,
};

export async function main(argv: string[]): Promise<number> {
  // Asking for help is not a usage error; no verb at all is.
  if (["--help", "-h", "help"].includes(argv[0])) {
    console.log(usage());
    return 0;
  }
  let configFile: string | undefined;
  try {
    const { verb, values, positionals } = parse(argv);
    if (values.help) {
      console.log(usage(verb));
      return 0;
    }
    configFile = values.config as string | undefined;
    return await (await handlers[verb]())(values, positionals);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(e.message);
      return 2;
    }
    console.error(
      `xcompare: ${namingConfigFile(e instanceof Error ? e.message : String(e), configFile)}`,
    );
    return 1;
  }
}

/**
 * A check deep in a run (a model card's preprocess block, a model file) names the config key it
 * read, `config.models[0] ...`, without knowing which file that config came from; the verb's
 * `--config` (else the default) is that file.
 */
export function namingConfigFile(message: string, configFile = "configs/default.json"): string {
  if (message.startsWith("config.")) return `${configFile}: ${message}`;
  if (message.startsWith("config: ")) return `${configFile}: ${message.slice("config: ".length)}`;
  return message;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
