/**
 * Checked reads: every byte a unit (or the report's publisher) reads from the store is first
 * compared with the size and sha256 its entry's manifest recorded. A reused entry is trusted on
 * its sizes alone, so a flipped byte goes unnoticed until something reads it: here, before a
 * result can be built from it. The bytes read are the bytes hashed, so a file that changes between
 * a check and a use cannot slip through; hashing what is already in memory costs far less than
 * reading it (bench/read_check.ts measures it on the default run). METHODS §10.
 */
import { join } from "node:path";
import { sha256 } from "../lib/hash.ts";
import type { Manifest, Store } from "./store.ts";

/** A store file whose bytes do not match its manifest (or that vanished from its entry). */
export class CorruptEntryError extends Error {
  constructor(
    readonly stage: string,
    readonly unit: string,
    readonly key: string,
    readonly file: string,
    readonly detail: string,
  ) {
    super(`${stage}/${unit} (entry ${key.slice(0, 12)}): ${file} ${detail}`);
    this.name = "CorruptEntryError";
  }
}

/** What the checks of a run cost: files and bytes hashed, seconds spent hashing. */
export interface ReadCheckStats {
  files: number;
  bytes: number;
  seconds: number;
}

export const emptyReadStats = (): ReadCheckStats => ({ files: 0, bytes: 0, seconds: 0 });

/**
 * The bytes of `file` of the entry `manifest` describes, once they match its record; otherwise a
 * CorruptEntryError. `stats` accumulates the cost of the check.
 */
export async function readChecked(
  store: Store,
  manifest: Manifest,
  file: string,
  stats?: ReadCheckStats,
): Promise<Uint8Array> {
  const corrupt = (detail: string) =>
    new CorruptEntryError(manifest.stage, manifest.unit, manifest.key, file, detail);
  const rec = manifest.files[file];
  if (!rec) throw corrupt("is not in the entry's manifest");
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(join(store.entryDir(manifest.stage, manifest.key), file));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw corrupt("is missing");
    throw e;
  }
  const t0 = performance.now();
  const digest = bytes.length === rec.size ? sha256(bytes) : null;
  if (stats) {
    stats.files++;
    stats.bytes += bytes.length;
    stats.seconds += (performance.now() - t0) / 1000;
  }
  if (digest === null) throw corrupt(`has ${bytes.length} bytes, expected ${rec.size}`);
  if (digest !== rec.sha256) throw corrupt("does not match its sha256");
  return bytes;
}

/**
 * Moves the entry a CorruptEntryError names aside, so that the next pass recomputes it. Returns
 * where it went, or null when it is gone already (another reader moved it) or intact again
 * (another run, a shard on the same store, replaced it since).
 */
export async function quarantineCorrupt(
  store: Store,
  e: CorruptEntryError,
): Promise<string | null> {
  const now = await store.check(e.stage, e.key, true);
  if (now.ok || now.reason === "missing") return null;
  try {
    return await store.quarantine(e.stage, e.key);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}
