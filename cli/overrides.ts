/**
 * `--set stage.param=value`: a stage param changed from the command line, without a variant config
 * file. The value is JSON when it parses (`4`, `true`, `[1,2]`, `"4"`), else the string as typed.
 * Overrides are applied to the raw config before validation and checked by the stage's own schema,
 * so a typo reads `--set mse-search.beamWidht: unknown key, did you mean "beamWidth"?`. A wrong
 * `--set` is the command line's mistake, not the config's: it exits 2 like any usage error.
 */
import { UsageError } from "./args.ts";
import { ConfigError, type Schema, setOwn, suggest } from "../lib/schema.ts";

export interface Override {
  stage: string;
  /** The param's path inside the stage's block (`beamWidth`, or `a.b` for a nested one). */
  path: string[];
  value: unknown;
  /** As run.json records it: `mse-search.beamWidth=4`. */
  text: string;
}

/** Parses every `--set`; a malformed one is a usage error naming it. */
export function parseOverrides(raw: readonly string[] | undefined): Override[] {
  return (raw ?? []).map((arg) => {
    const m = /^([^.=\s]+)\.([^=\s]+)=(.*)$/s.exec(arg);
    if (!m || m[2].split(".").some((k) => !k)) {
      throw new UsageError(`--set ${arg}: expected STAGE.PARAM=VALUE, e.g. mse-search.beamWidth=4`);
    }
    let value: unknown = m[3];
    try {
      value = JSON.parse(m[3]);
    } catch { /* a plain string */ }
    const path = m[2].split(".");
    return { stage: m[1], path, value, text: `${m[1]}.${path.join(".")}=${JSON.stringify(value)}` };
  });
}

/** A copy of the raw config with the overrides set under `stages`. */
export function applyOverrides(raw: unknown, overrides: readonly Override[]): unknown {
  const out = structuredClone(raw) as Record<string, unknown>;
  for (const o of overrides) {
    let node = (out.stages ??= {}) as Record<string, unknown>;
    const keys = [o.stage, ...o.path];
    keys.slice(0, -1).forEach((k, i) => {
      // Own keys, `__proto__` included, so the stage's schema sees the key and names it unknown.
      const next = Object.hasOwn(node, k) ? node[k] : setOwn(node, k, {});
      if (typeof next !== "object" || next === null || Array.isArray(next)) {
        throw new UsageError(
          `--set ${o.text}: ${keys.slice(0, i + 1).join(".")} is ${
            JSON.stringify(next)
          }, not an object of params`,
        );
      }
      node = next as Record<string, unknown>;
    });
    setOwn(node, keys.at(-1)!, o.value);
  }
  return out;
}

/**
 * Checks each overridden stage: it exists, its block in the file is valid (errors name the file),
 * and the block with the overrides is valid (errors name `--set`).
 */
export function checkOverrides(
  overrides: readonly Override[],
  stages: readonly { name: string; params: Schema<unknown> }[],
  before: unknown,
  after: unknown,
  file: string,
): void {
  const names = stages.map((s) => s.name);
  const block = (raw: unknown, stage: string) =>
    ((raw as { stages?: Record<string, unknown> }).stages ?? {})[stage] ?? {};
  for (const stage of new Set(overrides.map((o) => o.stage))) {
    const s = stages.find((x) => x.name === stage);
    if (!s) {
      const o = overrides.find((x) => x.stage === stage)!;
      throw new UsageError(`--set ${o.text}: unknown stage "${stage}"${suggest(stage, names)}`);
    }
    s.params.parse(block(before, stage), `${file}: config.stages.${stage}`);
    try {
      s.params.parse(block(after, stage), `--set ${stage}`);
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(e.message);
      throw e;
    }
  }
}
