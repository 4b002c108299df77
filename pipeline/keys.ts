/**
 * A unit's cache key: the hash of its stage's code closure, its params, its inputs' output hashes,
 * its external files' contents (each named by its path, or relative to the unit's `filesRoot`) and,
 * where results depend on it, the runtime. The runner keys units to reuse them; `status` keys them
 * to say why one is stale.
 */
import { dirname, join, relative } from "node:path";
import { codeClosure, hashJson, sha256File } from "../lib/hash.ts";
import type { AnyStage, RuntimeIdentity, UnitPlan, UnitRef } from "./stage.ts";
import type { KeyComponents, Manifest, Store } from "./store.ts";

/** `stage/unit`: how outputs and key inputs are named. */
export const refKey = (r: UnitRef) => `${r.stage}/${r.unit}`;

/** sha256 of external files, remembered per (path, size, mtime) so big inputs hash once. */
export class FileHashes {
  #cache: Record<string, { size: number; mtime: number; sha256: string }> = {};
  #dirty = false;
  constructor(readonly path: string) {
    try {
      this.#cache = JSON.parse(Deno.readTextFileSync(path));
    } catch { /* first use */ }
  }
  /** The cache kept in the store itself, shared by every run on it. */
  static of(store: Store): FileHashes {
    return new FileHashes(join(store.root, ".file-hashes.json"));
  }
  async get(file: string): Promise<string> {
    let st: Deno.FileInfo;
    try {
      st = await Deno.stat(file);
    } catch {
      throw new Error(`${file}: input file not found`);
    }
    const mtime = st.mtime?.getTime() ?? 0;
    const c = this.#cache[file];
    if (c && c.size === st.size && c.mtime === mtime) return c.sha256;
    const sha = await sha256File(file);
    this.#cache[file] = { size: st.size, mtime, sha256: sha };
    this.#dirty = true;
    return sha;
  }
  async save(): Promise<void> {
    if (!this.#dirty) return;
    // `status` on a fresh checkout hashes inputs before any run has created the store.
    await Deno.mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${Deno.pid}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(this.#cache));
    await Deno.rename(tmp, this.path);
    this.#dirty = false;
  }
}

/** How a key names an external file: relative to `root` (with `/`), else as given. */
export function keyName(file: string, root?: string): string {
  return root === undefined ? file : relative(root, file).replaceAll("\\", "/");
}

/** The runtime identity, probed once and only when a unit's key or run needs it. */
export class LazyRuntime {
  value?: RuntimeIdentity;
  constructor(readonly probe: () => Promise<RuntimeIdentity>) {}
  get = async (): Promise<RuntimeIdentity> => this.value ??= await this.probe();
}

/**
 * A unit's key and what it is made of, or the first input that has no output (yet). `status`
 * passes `missingFile` to report an absent input file instead of failing on it.
 */
export async function keyComponents(
  stage: AnyStage,
  unit: UnitPlan,
  outputs: Map<string, Manifest>,
  files: FileHashes,
  runtime: () => Promise<RuntimeIdentity>,
  missingFile?: string,
): Promise<{ components: KeyComponents; key: string } | { missing: string }> {
  const code = await codeClosure(stage.module);
  const inputs: Record<string, string> = {};
  for (const ref of unit.inputs) {
    const m = outputs.get(refKey(ref));
    if (!m) return { missing: refKey(ref) };
    inputs[refKey(ref)] = m.outputHash;
  }
  // Stat (and, when new, hash) a unit's files at once: a chunk of 25 images, or every model.
  const list = unit.files ?? [];
  const digests = await Promise.all(
    list.map((f) =>
      missingFile === undefined ? files.get(f) : files.get(f).catch(() => missingFile)
    ),
  );
  const fileHashes: Record<string, string> = {};
  list.forEach((f, i) => fileHashes[keyName(f, unit.filesRoot)] = digests[i]);
  const components: KeyComponents = {
    code: code.hash,
    codeFiles: code.files,
    params: unit.params,
    paramsHash: hashJson(unit.params ?? null),
    inputs,
    files: fileHashes,
    runtime: unit.runtime ? await runtime() : null,
  };
  const key = hashJson({
    stage: stage.name,
    unit: unit.id,
    code: components.code,
    params: components.paramsHash,
    inputs,
    files: fileHashes,
    runtime: components.runtime,
  });
  return { components, key };
}
