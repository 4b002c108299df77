/**
 * `--verify`: re-hashes every entry of the store, not only those the run reuses, and moves aside
 * the corrupt ones, so that the run (or any later one) recomputes them.
 *
 * What else must go: a downstream entry is keyed on its inputs' output hashes as their manifests
 * record them, and a recomputed input gets the same hash back, so a downstream entry built from
 * an input's corrupt bytes would keep its key and be reused, wrong. An engine whose reads are
 * checked (pipeline/checked_read.ts; the manifest says `readsChecked`) never builds from bytes
 * that do not match the manifest, so its entries are sound whatever their inputs' state now. An
 * entry without the mark may have read the corrupt bytes, at any time since the input was
 * written, so it is moved aside too, and so is everything built from it, checked or not: its
 * bytes match its manifest but its content is wrong. METHODS §10.
 */
import type { Manifest, Store } from "./store.ts";

/** An entry moved aside (or, in a dry run, that would be), and why. */
export interface MovedEntry {
  stage: string;
  key: string;
  /** Unknown when the manifest itself is unreadable. */
  unit?: string;
  reason: string;
  /** Where it went; null in a dry run. */
  to: string | null;
}

export interface VerifyReport {
  entries: number;
  /** Files and bytes hashed. */
  files: number;
  bytes: number;
  seconds: number;
  /** Entries whose files do not match their manifest (or with no readable manifest). */
  corrupt: MovedEntry[];
  /** Entries built without checked reads from a corrupt entry, and what was built from them. */
  derived: MovedEntry[];
}

/** An output that must not be trusted: `stage/unit` and its output hash. */
const outputId = (m: { stage: string; unit: string; outputHash: string }) =>
  `${m.stage}/${m.unit}\0${m.outputHash}`;

/**
 * The intact entries that may hold results computed from corrupt bytes (see the file's comment),
 * each with the input that condemns it. Entries whose manifests are unreadable have no known
 * output, so nothing is derived from them here: a unit could not have read them without one.
 */
export function derivedFromCorrupt(
  intact: readonly Manifest[],
  corrupt: readonly Pick<Manifest, "stage" | "unit" | "outputHash">[],
): { manifest: Manifest; reason: string }[] {
  const bad = new Map<string, "corrupt" | "derived">(corrupt.map((m) => [outputId(m), "corrupt"]));
  const out: { manifest: Manifest; reason: string }[] = [];
  const done = new Set<Manifest>();
  for (let changed = true; changed;) {
    changed = false;
    for (const m of intact) {
      if (done.has(m)) continue;
      const from = Object.entries(m.components.inputs).find(([ref, hash]) => {
        const b = bad.get(`${ref}\0${hash}`);
        return b === "derived" || (b === "corrupt" && !m.readsChecked);
      });
      if (!from) continue;
      done.add(m);
      out.push({
        manifest: m,
        reason: bad.get(`${from[0]}\0${from[1]}`) === "corrupt"
          ? `read ${from[0]}, which is corrupt, without checked reads`
          : `was built from ${from[0]}, which was built from corrupt bytes`,
      });
      bad.set(outputId(m), "derived");
      changed = true;
    }
  }
  return out;
}

/** Hashes every entry; moves the corrupt ones and those derived from them aside unless `dryRun`. */
export async function verifyStore(
  store: Store,
  o: { dryRun: boolean; log: (line: string) => void },
): Promise<VerifyReport> {
  const t0 = performance.now();
  const report: VerifyReport = {
    entries: 0,
    files: 0,
    bytes: 0,
    seconds: 0,
    corrupt: [],
    derived: [],
  };
  const intact: Manifest[] = [];
  const corruptManifests: Manifest[] = [];
  const move = async (stage: string, key: string) =>
    o.dryRun ? null : await store.quarantine(stage, key);
  const found: { stage: string; key: string; detail: string; manifest: Manifest | null }[] = [];
  for await (const e of store.entries()) {
    if (e.key.startsWith(".")) continue; // a unit being written, or one moved aside before
    report.entries++;
    const check = await store.check(e.stage, e.key, true);
    const manifest = check.ok ? check.manifest : await store.readManifest(e.stage, e.key);
    for (const rec of Object.values(manifest?.files ?? {})) {
      report.files++;
      report.bytes += rec.size;
    }
    if (check.ok) intact.push(check.manifest);
    else if (check.reason === "corrupt") {
      found.push({ stage: e.stage, key: e.key, detail: check.detail, manifest });
      if (manifest) corruptManifests.push(manifest);
    }
  }
  for (const f of found) {
    const to = await move(f.stage, f.key);
    report.corrupt.push({
      stage: f.stage,
      key: f.key,
      unit: f.manifest?.unit,
      reason: f.detail,
      to,
    });
    o.log(
      `--verify: ${f.stage}/${f.manifest?.unit ?? "?"} (entry ${
        f.key.slice(0, 12)
      }) is corrupt (${f.detail}); ${to ? `moved to ${to}` : "dry run: left in place"}`,
    );
  }
  for (const { manifest: m, reason } of derivedFromCorrupt(intact, corruptManifests)) {
    const to = await move(m.stage, m.key);
    report.derived.push({ stage: m.stage, key: m.key, unit: m.unit, reason, to });
    o.log(
      `--verify: ${m.stage}/${m.unit} (entry ${m.key.slice(0, 12)}) ${reason}; ${
        to ? `moved to ${to}` : "dry run: left in place"
      }`,
    );
  }
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}
