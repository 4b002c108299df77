/**
 * The artifact store: `artifacts/<stage>/<key>/` holding a unit's files and its manifest.json.
 * An entry appears only by renaming a complete temporary directory into place, so a killed run
 * leaves no half-written entry and two concurrent runs cannot corrupt one.
 */
import { join } from "node:path";
import { sha256, sha256File } from "../lib/hash.ts";

export interface FileRecord {
  size: number;
  sha256: string;
}

export interface Manifest {
  stage: string;
  unit: string;
  key: string;
  /** What the key was made of, so `status` can say why a unit is stale. */
  components: KeyComponents;
  files: Record<string, FileRecord>;
  /** Hash over the output files' names and digests: what downstream keys depend on. */
  outputHash: string;
  counters: Record<string, number>;
  provenance: Record<string, unknown>;
  /**
   * Set by engines that check every input byte against its manifest before use (this one). An
   * entry without it may have been built from corrupt bytes: `--verify` drops such an entry when
   * one of its inputs turns out corrupt (pipeline/verify.ts).
   */
  readsChecked?: true;
}

/** The entry's record of its files: not an output. */
export const MANIFEST = "manifest.json";
/**
 * The entry's sidecar of timings and batch statistics (when it started, how long it took, how
 * full the batches were): not an output, outside every hash, so equal keys give equal outputs.
 */
export const TIMINGS = "timings.json";
/** Names a unit may not write: the store's own files. */
export const RESERVED = new Set([MANIFEST, TIMINGS]);

export interface KeyComponents {
  code: string;
  /** file → sha256 of each module in the stage's import closure. */
  codeFiles: Record<string, string>;
  params: unknown;
  paramsHash: string;
  /** `stage/unit` → upstream outputHash. */
  inputs: Record<string, string>;
  /** path → sha256 of external files. */
  files: Record<string, string>;
  runtime: unknown;
}

export type CheckResult =
  | { ok: true; manifest: Manifest }
  | { ok: false; reason: "missing" }
  | { ok: false; reason: "corrupt"; detail: string };

export function outputHash(files: Record<string, FileRecord>): string {
  return sha256(
    Object.keys(files).sort().map((f) => `${f}\0${files[f].sha256}\0${files[f].size}`).join("\n"),
  );
}

export class Store {
  constructor(readonly root: string) {}

  entryDir(stage: string, key: string): string {
    return join(this.root, stage, key);
  }

  async readManifest(stage: string, key: string): Promise<Manifest | null> {
    try {
      return JSON.parse(await Deno.readTextFile(join(this.entryDir(stage, key), MANIFEST)));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      if (e instanceof SyntaxError) return null;
      throw e;
    }
  }

  /**
   * Manifests of a stage's complete entries, in directory order: what earlier runs counted, for
   * `plan`. Leftovers of killed runs and unreadable manifests are skipped.
   */
  /** An entry's timings sidecar, or null when absent or unreadable: a figure, never a result. */
  async timings(stage: string, key: string): Promise<Record<string, unknown> | null> {
    try {
      return JSON.parse(await Deno.readTextFile(join(this.entryDir(stage, key), TIMINGS)));
    } catch {
      return null;
    }
  }

  async manifests(stage: string): Promise<Manifest[]> {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(join(this.root, stage)));
    } catch {
      return [];
    }
    const out: Manifest[] = [];
    for (const e of entries) {
      if (!e.isDirectory || e.name.startsWith(".")) continue;
      const m = await this.readManifest(stage, e.name).catch(() => null);
      if (m) out.push(m);
    }
    return out;
  }

  /** Reuse check: sizes always, digests too when `verify` is set. */
  async check(stage: string, key: string, verify: boolean): Promise<CheckResult> {
    const dir = this.entryDir(stage, key);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(await Deno.readTextFile(join(dir, MANIFEST)));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        try {
          await Deno.stat(dir);
          return { ok: false, reason: "corrupt", detail: "manifest.json is missing" };
        } catch {
          return { ok: false, reason: "missing" };
        }
      }
      return { ok: false, reason: "corrupt", detail: `manifest.json unreadable: ${e}` };
    }
    const files = Object.entries(manifest.files);
    // Sizes of all files at once (a reuse check is mostly waiting on stat), judged in order.
    const sizes = await Promise.all(
      files.map(([file]) => Deno.stat(join(dir, file)).then((st) => st.size, () => null)),
    );
    for (const [k, [file, rec]] of files.entries()) {
      const path = join(dir, file);
      const size = sizes[k];
      if (size === null) {
        return { ok: false, reason: "corrupt", detail: `${file} is missing` };
      }
      if (size !== rec.size) {
        return {
          ok: false,
          reason: "corrupt",
          detail: `${file} has ${size} bytes, expected ${rec.size}`,
        };
      }
      if (verify && (await sha256File(path)) !== rec.sha256) {
        return { ok: false, reason: "corrupt", detail: `${file} does not match its sha256` };
      }
    }
    return { ok: true, manifest };
  }

  /** A fresh temporary directory beside the entry, on the same file system for an atomic rename. */
  async begin(stage: string, key: string): Promise<string> {
    const dir = join(this.root, stage);
    await Deno.mkdir(dir, { recursive: true });
    return await Deno.makeTempDir({ dir, prefix: `.tmp-${key.slice(0, 12)}-` });
  }

  /**
   * Hashes the temporary directory's files, writes the manifest and the timings sidecar and
   * renames the directory into place. If another run committed the same key first, ours is
   * discarded: equal keys mean equal inputs, and the entry already there is complete.
   */
  async commit(
    tmp: string,
    partial: Omit<Manifest, "files" | "outputHash">,
    timings: Record<string, unknown> = {},
  ): Promise<Manifest> {
    const files: Record<string, FileRecord> = {};
    for await (const f of walkFiles(tmp)) {
      const path = join(tmp, f);
      files[f] = { size: (await Deno.stat(path)).size, sha256: await sha256File(path) };
    }
    const manifest: Manifest = { ...partial, files, outputHash: outputHash(files) };
    await Deno.writeTextFile(join(tmp, TIMINGS), JSON.stringify(timings, null, 1) + "\n");
    await Deno.writeTextFile(join(tmp, MANIFEST), JSON.stringify(manifest, null, 2));
    const dest = this.entryDir(partial.stage, partial.key);
    try {
      await Deno.rename(tmp, dest);
    } catch (e) {
      const exists = await this.readManifest(partial.stage, partial.key);
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      if (exists) return exists;
      throw e;
    }
    return manifest;
  }

  /** Moves a corrupt entry aside (kept for inspection, never silently reused). */
  async quarantine(stage: string, key: string): Promise<string> {
    const from = this.entryDir(stage, key);
    const to = join(this.root, stage, `.corrupt-${key.slice(0, 12)}-${Date.now()}`);
    await Deno.rename(from, to);
    return to;
  }

  async *entries(): AsyncGenerator<{ stage: string; key: string; dir: string }> {
    let stages: Deno.DirEntry[];
    try {
      stages = await Array.fromAsync(Deno.readDir(this.root));
    } catch {
      return;
    }
    for (const s of stages) {
      if (!s.isDirectory || s.name.startsWith(".")) continue;
      for await (const e of Deno.readDir(join(this.root, s.name))) {
        if (e.isDirectory) {
          yield { stage: s.name, key: e.name, dir: join(this.root, s.name, e.name) };
        }
      }
    }
  }
}

/** Relative paths of all files under `dir`, sorted, excluding the store's own files at the top. */
export async function* walkFiles(dir: string, prefix = ""): AsyncGenerator<string> {
  const entries = (await Array.fromAsync(Deno.readDir(join(dir, prefix)))).sort((a, b) =>
    a.name < b.name ? -1 : 1
  );
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) yield* walkFiles(dir, rel);
    else if (e.isFile && !RESERVED.has(rel)) yield rel;
  }
}
