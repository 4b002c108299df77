/**
 * The UnitIO a running unit is given: it reads only the inputs its plan declared, writes into its
 * temporary entry (which the store commits when the unit succeeds), and reports progress, log
 * lines and counters under its own name.
 */
import { join } from "node:path";
import { refKey } from "./keys.ts";
import type { StageProgress } from "./progress.ts";
import type { UnitIO, UnitPlan, UnitRef } from "./stage.ts";
import type { Manifest, Store } from "./store.ts";

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
}

export function unitIO(o: UnitIOOptions): UnitIO {
  const { store, stage, unit, outDir, outputs, progress, log, counters } = o;
  const declared = new Set(unit.inputs.map(refKey));
  const manifestOf = (ref: UnitRef) => {
    const k = refKey(ref);
    if (!declared.has(k)) throw new Error(`${stage}/${unit.id} reads undeclared input ${k}`);
    return outputs.get(k)!;
  };
  const inputPath = (ref: UnitRef, file: string) => {
    const m = manifestOf(ref);
    if (!(file in m.files)) {
      throw new Error(`${stage}/${unit.id}: input ${refKey(ref)} has no file ${file}`);
    }
    return join(store.entryDir(ref.stage, m.key), file);
  };
  const write = async (file: string, data: Uint8Array | string) => {
    const path = join(outDir, file);
    const dir = path.slice(0, path.lastIndexOf("/"));
    await Deno.mkdir(dir, { recursive: true });
    if (typeof data === "string") await Deno.writeTextFile(path, data);
    else await Deno.writeFile(path, data);
  };
  return {
    inputPath,
    readInput: (ref, file) => Deno.readFile(inputPath(ref, file)),
    readInputJson: async (ref, file) => JSON.parse(await Deno.readTextFile(inputPath(ref, file))),
    inputFiles: (ref) => Object.keys(manifestOf(ref).files),
    write,
    writeJson: (file, value) => write(file, JSON.stringify(value, null, 1) + "\n"),
    outDir,
    progress: (done, total) => progress.unit(unit.id, total > 0 ? done / total : 0),
    log: (m) => log(`${stage}/${unit.id}: ${m}`),
    count: (name, n) => counters[name] = (counters[name] ?? 0) + n,
  };
}
