/**
 * A small validator for JSON configs and stage params. Every error names the path at fault
 * (`models[2].preprocess.mean: expected 3 numbers`) and, for unknown keys, the nearest valid key.
 *
 * Kept over zod and valibot (issue 21; prototypes of the model, dataset and runtime schemas, 12
 * good and bad inputs). Their own messages lose what these say. For `crop: 0`, zod 4.6.7:
 * `Too small: expected number to be >=1`, valibot 1.5.0: `Invalid value: Expected >=1 but received
 * 0`; here `models[0].preprocess.crop: expected an integer in [1, inf], got 0`. For `batchSize:
 * "big"`, zod: `Invalid input`. For a misspelt key, zod: `Unrecognized key: "preprocss"` (at the
 * parent's path), valibot: `Invalid key: Expected never but received "preprocss"`; here
 * `models[0].preprocss: unknown key, did you mean "preprocess"?`. Strict objects also reject the
 * `"//"` comment keys. Matching the 12 messages took 78 lines over zod (11 identical; a fixed-length
 * array still needs its own message per field) and 85 over valibot (still wrong on missing keys),
 * beside the 23 of `suggest` that every variant keeps, against the 204 non-blank lines this file
 * had before this note: fewer, but neither thin nor as clear. The wording splits between an
 * error map keyed by zod's issue codes and per-constructor overrides (num, int and obj, the bulk of
 * this file, must still be wrapped to say "an integer in [1, inf]" and to allow comments), and a
 * union's message is rebuilt by parsing its members' messages. zod adds 8.2 MB unpacked and 43-54
 * ms of import (valibot 1.9 MB), and a switch rewrites the stage params contract
 * (pipeline/stage.ts) and every schema in configs/ and stages/.
 */

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly path: string, readonly problem: string) {
    super(`${path}: ${problem}`);
  }
}

/** Parses and validates `value` at `path`, returning the typed value with defaults filled in. */
export interface Schema<T> {
  parse(value: unknown, path: string): T;
  /** Short description for errors and docs. */
  readonly describe: string;
  /** Present when the field may be omitted; the default is used then. */
  readonly fallback?: { value: T };
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

/** Longest string value an error quotes; a longer one is described by its length only. */
const QUOTED_MAX = 40;

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string" && v.length > QUOTED_MAX) return `a string of ${v.length} characters`;
  return typeof v === "object" ? "an object" : `${typeof v} ${JSON.stringify(v)}`;
}

export function num(opts: { min?: number; max?: number; int?: boolean } = {}): Schema<number> {
  const what = opts.int ? "an integer" : "a number";
  const range = opts.min !== undefined || opts.max !== undefined
    ? ` in [${opts.min ?? "-inf"}, ${opts.max ?? "inf"}]`
    : "";
  return {
    describe: what + range,
    parse(v, path) {
      if (typeof v !== "number" || !Number.isFinite(v) || (opts.int && !Number.isInteger(v))) {
        throw new ConfigError(path, `expected ${what}${range}, got ${typeName(v)}`);
      }
      if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
        throw new ConfigError(path, `expected ${what}${range}, got ${v}`);
      }
      return v;
    },
  };
}

export function int(opts: { min?: number; max?: number } = {}): Schema<number> {
  return num({ ...opts, int: true });
}

export function str(opts: { nonEmpty?: boolean } = {}): Schema<string> {
  return {
    describe: "a string",
    parse(v, path) {
      if (typeof v !== "string") {
        throw new ConfigError(path, `expected a string, got ${typeName(v)}`);
      }
      if (opts.nonEmpty && v.length === 0) {
        throw new ConfigError(path, "expected a non-empty string");
      }
      return v;
    },
  };
}

export function bool(): Schema<boolean> {
  return {
    describe: "true or false",
    parse(v, path) {
      if (typeof v !== "boolean") {
        throw new ConfigError(path, `expected true or false, got ${typeName(v)}`);
      }
      return v;
    },
  };
}

export function oneOf<const T extends string | number>(...values: T[]): Schema<T> {
  const list = values.map((v) => JSON.stringify(v)).join(", ");
  return {
    describe: `one of ${list}`,
    parse(v, path) {
      if (!values.includes(v as T)) {
        const hint = typeof v === "string" ? didYouMean(v, values.map(String)) : "";
        throw new ConfigError(path, `expected one of ${list}, got ${typeName(v)}${hint}`);
      }
      return v as T;
    },
  };
}

export function arr<T>(item: Schema<T>, opts: { len?: number; min?: number } = {}): Schema<T[]> {
  const what = opts.len !== undefined
    ? `${opts.len} ${item.describe === "a number" ? "numbers" : `items (${item.describe})`}`
    : `an array of ${item.describe}`;
  return {
    describe: what,
    parse(v, path) {
      if (!Array.isArray(v)) throw new ConfigError(path, `expected ${what}, got ${typeName(v)}`);
      if (opts.len !== undefined && v.length !== opts.len) {
        throw new ConfigError(path, `expected ${what}, got ${v.length}`);
      }
      if (opts.min !== undefined && v.length < opts.min) {
        throw new ConfigError(path, `expected at least ${opts.min} items, got ${v.length}`);
      }
      return v.map((x, i) => item.parse(x, `${path}[${i}]`));
    },
  };
}

/** Either of several schemas, tried in order; the error lists what each expected. */
export function union<T>(...options: Schema<T>[]): Schema<T> {
  const what = options.map((o) => o.describe).join(" or ");
  return {
    describe: what,
    parse(v, path) {
      const problems: string[] = [];
      for (const o of options) {
        try {
          return o.parse(v, path);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          problems.push(e.message);
        }
      }
      throw new ConfigError(path, `expected ${what}, got ${typeName(v)}`);
    },
  };
}

export function optional<T>(inner: Schema<T>, fallback: T): Schema<T> {
  return { ...inner, parse: (v, p) => inner.parse(v, p), fallback: { value: fallback } };
}

/** A field that may be absent, with no default (undefined). */
export function maybe<T>(inner: Schema<T>): Schema<T | undefined> {
  return {
    describe: inner.describe,
    parse: (v, p) => v === undefined ? undefined : inner.parse(v, p),
    fallback: { value: undefined },
  };
}

/** `inner`, or null where null means "none" (e.g. no crop). */
export function nullable<T>(inner: Schema<T>): Schema<T | null> {
  const none: Schema<null> = {
    describe: "null",
    parse(v, path) {
      if (v !== null) throw new ConfigError(path, `expected null, got ${typeName(v)}`);
      return null;
    },
  };
  return union<T | null>(inner, none);
}

/** Any JSON value, unchecked (for pass-through blocks such as free-form notes). */
export function any(): Schema<unknown> {
  return { describe: "any JSON value", parse: (v) => v };
}

type Shape = Record<string, Schema<unknown>>;
export type ObjOf<S extends Shape> = { [K in keyof S]: Infer<S[K]> };

/** An object with known keys only: unknown keys are errors that suggest the nearest known key. */
export function obj<S extends Shape>(shape: S): Schema<ObjOf<S>> & { shape: S } {
  return {
    shape,
    describe: "an object",
    parse(v, path) {
      if (v === null || typeof v !== "object" || Array.isArray(v)) {
        throw new ConfigError(path, `expected an object, got ${typeName(v)}`);
      }
      const keys = Object.keys(shape);
      for (const k of Object.keys(v)) {
        // Own keys only: `constructor`, `toString` and `__proto__` are on every object's prototype.
        if (!Object.hasOwn(shape, k) && !k.startsWith("//") && k !== "$comment") {
          throw new ConfigError(`${path}.${k}`, `unknown key${suggest(k, keys)}`);
        }
      }
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const s = shape[k];
        const raw = (v as Record<string, unknown>)[k];
        if (raw === undefined) {
          if (!s.fallback) throw new ConfigError(`${path}.${k}`, `missing (${s.describe})`);
          out[k] = structuredClone(s.fallback.value);
        } else {
          out[k] = s.parse(raw, `${path}.${k}`);
        }
      }
      return out as ObjOf<S>;
    },
  };
}

/** A map from free-form keys to values of one schema. */
export function record<T>(value: Schema<T>): Schema<Record<string, T>> {
  return {
    describe: `an object of ${value.describe}`,
    parse(v, path) {
      if (v === null || typeof v !== "object" || Array.isArray(v)) {
        throw new ConfigError(path, `expected an object, got ${typeName(v)}`);
      }
      const out: Record<string, T> = {};
      for (const [k, x] of Object.entries(v)) setOwn(out, k, value.parse(x, `${path}.${k}`));
      return out;
    },
  };
}

/**
 * Sets `node[key]` as an own key, even for `__proto__` (assigning that would replace the
 * prototype, not add a key); returns the value.
 */
export function setOwn<T>(node: Record<string, unknown>, key: string, value: T): T {
  Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
  return value;
}

/** `, did you mean "x"?` when a known key is within a small edit distance, else the valid keys. */
export function suggest(word: string, known: string[]): string {
  return didYouMean(word, known) || `; valid keys: ${known.join(", ")}`;
}

/** `, did you mean "x"?` when a known word is within a small edit distance, else nothing. */
export function didYouMean(word: string, known: string[]): string {
  if (word.length > QUOTED_MAX) return "";
  let best = "", bestD = Infinity;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return best && bestD <= limit ? `, did you mean "${best}"?` : "";
}

export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}
