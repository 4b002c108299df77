/** Session options from a config's runtime block. */
import type { Config } from "../../configs/schema.ts";

export function sessionOptions(config: Config) {
  return {
    providers: config.runtime.providers,
    requireProvider: config.runtime.requireProvider,
    ...(config.runtime.threads > 0 ? { threads: config.runtime.threads } : {}),
  };
}
