/**
 * Content hashing for cache keys: canonical JSON (key order never matters), file digests, and the
 * hash of a stage's code closure (the local modules it imports, transitively), so that editing a
 * core algorithm invalidates exactly the stages that import it.
 */
import { createHash } from "node:crypto";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** JSON with object keys sorted at every level; rejects values JSON cannot represent faithfully. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value, "$"));
}

function sortKeys(v: unknown, path: string): unknown {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new Error(`${path}: ${v} cannot be hashed as JSON`);
    return v;
  }
  if (Array.isArray(v)) return v.map((x, i) => sortKeys(x, `${path}[${i}]`));
  if (typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x, `${path}.${k}`);
    }
    return out;
  }
  throw new Error(`${path}: a ${typeof v} cannot be hashed as JSON`);
}

export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

export function hashJson(value: unknown): string {
  return sha256(canonicalJson(value));
}

/** Streams a file through sha256 (files can be large model weights). */
export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  using f = await Deno.open(path, { read: true });
  const buf = new Uint8Array(1 << 20);
  while (true) {
    const n = await f.read(buf);
    if (n === null) break;
    h.update(buf.subarray(0, n));
  }
  return h.digest("hex");
}

const importRe =
  /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*["'](\.{1,2}\/[^"']+)["']|(?:^|[\s;])import\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/gm;
const locatedRe = /new\s+URL\(\s*["'](\.{1,2}\/[^"']+)["']\s*,\s*import\.meta\.url\s*\)/g;

/** A statement TypeScript erases whole: `import type ... from`, `export type ... from`. */
const typeOnlyRe = /^[\s;]*(?:import|export)\s+type\s/;

/**
 * Relative module specifiers imported by a source text (static imports, re-exports, import()).
 * `types: false` leaves out `import type` / `export type` statements, which never run (a mixed
 * `import { type A, b }` stays: it loads the module).
 */
export function localImports(source: string, o: { types?: boolean } = {}): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(importRe)) {
    if (o.types === false && typeOnlyRe.test(m[0])) continue;
    out.push(m[1] ?? m[2]);
  }
  return out;
}

/**
 * Relative paths a source text resolves against its own module URL (`new URL` of a relative path
 * and `import.meta.url`): a worker's entry module, or a data file it reads such as the paper's
 * facts. They shape results as much as an import does.
 */
export function locatedFiles(source: string): string[] {
  return [...source.matchAll(locatedRe)].map((m) => m[1]);
}

/** Files whose text may locate further files; anything else is hashed as bytes only. */
const sourceFile = /\.(?:[cm]?[jt]sx?)$/;

const closureCache = new Map<string, { files: Record<string, string>; hash: string }>();

/**
 * Hash of a module and every local file it imports or locates (`localImports`, `locatedFiles`),
 * transitively; type-only imports are left out, since they never run. Test files are never part of a closure because nothing imports them. Returns each file's hash too, so `status` can name the files that changed.
 */
export async function codeClosure(
  entry: string,
): Promise<{ files: Record<string, string>; hash: string }> {
  const root = entry.startsWith("file:") ? fileURLToPath(entry) : resolve(entry);
  const cached = closureCache.get(root);
  if (cached) return cached;
  const seen = new Map<string, string>();
  const stack = [root];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    const bytes = await Deno.readFile(file);
    seen.set(file, sha256(bytes));
    if (!sourceFile.test(file)) continue;
    const text = new TextDecoder().decode(bytes);
    for (const spec of localImports(text, { types: false })) {
      stack.push(resolve(dirname(file), spec));
    }
    // A located path that is not there (one spelled in a comment, say) cannot shape results.
    for (const spec of locatedFiles(text)) {
      const path = resolve(dirname(file), spec);
      if (await Deno.stat(path).then((s) => s.isFile, () => false)) stack.push(path);
    }
  }
  const files = [...seen.keys()].sort();
  const cwd = Deno.cwd();
  const rel = (f: string) => f.startsWith(cwd + "/") ? f.slice(cwd.length + 1) : f;
  const hash = sha256(files.map((f) => `${rel(f)}\0${seen.get(f)}`).join("\n"));
  const result = { files: Object.fromEntries(files.map((f) => [rel(f), seen.get(f)!])), hash };
  closureCache.set(root, result);
  return result;
}
