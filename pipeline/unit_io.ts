/**
 * The UnitIO a running unit is given: it reads only the inputs its plan declared, each byte
 * checked against the input's manifest (pipeline/checked_read.ts), writes into its temporary
 * entry (which the store commits when the unit succeeds), and reports progress, log lines,
 * counters and timings under its own name.
 */
import { join } from "node:path";
import { CorruptEntryError, readChecked, type ReadCheckStats } from "./checked_read.ts";
import { refKey } from "./keys.ts";
import type { StageProgress } from "./progress.ts";
import type { UnitIO, UnitPlan, UnitRef } from "./stage.ts";
import { type Manifest, RESERVED, type Store } from "./store.ts";

export interface UnitIOOptions {
  store: Store;
  stage: string;
  unit: UnitPlan;
  /** The unit's temporary entry directory. */
  outDir: string;
  /** `stage/unit` → manifest of every output available so far. */
  outputs: Map<string, Manifest>;
  progress: StageProgress;
  log: (line: string) => void;
  /** Filled by `count`; the manifest records it. */
  counters: Record<string, number>;
  /** Filled by `timings`; the entry's timings.json sidecar records it. */
  timings: Record<string, unknown>;
  /** What the read checks cost, summed over the run. */
  readStats: ReadCheckStats;
  /**
   * Told of every input read that failed its check, even one the stage catches: the runner then
   * discards the unit's outputs, whatever the stage made of the error.
   */
  onCorrupt: (e: CorruptEntryError) => void;
}

export function unitIO(o: UnitIOOptions): UnitIO {
  const { store, stage, unit, outDir, outputs, progress, log, counters, timings } = o;
  const declared = new Set(unit.inputs.map(refKey));
  const manifestOf = (ref: UnitRef) => {
    const k = refKey(ref);
    if (!declared.has(k)) throw new Error(`${stage}/${unit.id} reads undeclared input ${k}`);
    return outputs.get(k)!;
  };
  const inputPath = (ref: UnitRef, file: string) => {
    const m = manifestOf(ref);
    if (!Object.hasOwn(m.files, file)) {
      throw new Error(`${stage}/${unit.id}: input ${refKey(ref)} has no file ${file}`);
    }
    return join(store.entryDir(ref.stage, m.key), file);
  };
  const readInput = async (ref: UnitRef, file: string) => {
    inputPath(ref, file);
    try {
      return await readChecked(store, manifestOf(ref), file, o.readStats);
    } catch (e) {
      if (e instanceof CorruptEntryError) o.onCorrupt(e);
      throw e;
    }
  };
  const write = async (file: string, data: Uint8Array | string) => {
    if (RESERVED.has(file)) throw new Error(`${stage}/${unit.id}: ${file} is the store's own file`);
    const path = join(outDir, file);
    const dir = path.slice(0, path.lastIndexOf("/"));
    await Deno.mkdir(dir, { recursive: true });
    if (typeof data === "string") await Deno.writeTextFile(path, data);
    else await Deno.writeFile(path, data);
  };
  return {
    inputPath,
    readInput,
    readInputJson: async (ref, file) =>
      JSON.parse(new TextDecoder().decode(await readInput(ref, file))),
    inputFiles: (ref) => Object.keys(manifestOf(ref).files),
    write,
    writeJson: (file, value) => write(file, JSON.stringify(value, null, 1) + "\n"),
    outDir,
    progress: (done, total) => progress.unit(unit.id, total > 0 ? done / total : 0),
    log: (m) => log(`${stage}/${unit.id}: ${m}`),
    count: (name, n) => counters[name] = (counters[name] ?? 0) + n,
    timings: (name, value) => timings[name] = value,
  };
}
