/**
 * A copy of this checkout in another folder, as a user moving it would have one: the code, the
 * configs, one zoo model and a tiny dataset of sample images, with `node_modules` linked rather
 * than copied. Tests run the CLI in it (`xcompare`) under the task's own permission flags.
 */
import { taskFlags } from "./task_flags.ts";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The checkout these tests belong to. */
export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

const CODE = ["cli", "configs", "explain", "lib", "pipeline", "report", "runtime", "stages"];
const FILES = ["deno.json", "deno.lock", "zoo/models/cnn-bn.onnx", "zoo/models/cnn-bn.json"];
export const MODEL = "zoo/models/cnn-bn.onnx";

async function copyTree(src: string, dest: string): Promise<void> {
  await Deno.mkdir(dest, { recursive: true });
  for await (const e of Deno.readDir(src)) {
    if (e.isDirectory) await copyTree(join(src, e.name), join(dest, e.name));
    else if (e.isFile) await Deno.copyFile(join(src, e.name), join(dest, e.name));
  }
}

/** Copies the checkout's code and FILES into `dest`, linking node_modules. */
export async function copyCheckout(dest: string): Promise<void> {
  for (const d of CODE) await copyTree(join(ROOT, d), join(dest, d));
  for (const f of FILES) {
    await Deno.mkdir(dirname(join(dest, f)), { recursive: true });
    await Deno.copyFile(join(ROOT, f), join(dest, f));
  }
  await Deno.symlink(join(ROOT, "node_modules"), join(dest, "node_modules"));
}

/** The first `n` Fashion-MNIST sample images as `data/<name>/` with a labels.csv of `rows`. */
export async function writeDataset(
  checkout: string,
  name: string,
  images: number,
  rows?: string[],
): Promise<string> {
  const dir = join(checkout, "data", name);
  await Deno.mkdir(dir, { recursive: true });
  const sample = join(ROOT, "data", "fashion-sample");
  const lines = (await Deno.readTextFile(join(sample, "labels.csv"))).trim().split("\n");
  const chosen = lines.slice(1, 1 + images);
  for (const l of chosen) {
    const file = l.split(",")[0];
    await Deno.copyFile(join(sample, file), join(dir, file));
  }
  await Deno.writeTextFile(
    join(dir, "labels.csv"),
    ["file,label", ...(rows ?? chosen.map((l) => l.split(",").slice(0, 2).join(",")))].join("\n") +
      "\n",
  );
  return dir;
}

/** A tiny config of cnn-bn on `data/<dataset>`: every stage runs in seconds. */
export function tinyConfig(dataset: string) {
  return {
    name: "tiny",
    dataset: {
      kind: "folder",
      dir: `data/${dataset}`,
      labels: `data/${dataset}/labels.csv`,
      chunk: 2,
    },
    models: [{ id: "a", onnx: MODEL, group: "older-cnn" }],
    runtime: { batchSize: 64 },
    stages: {
      "mse-search": { images: 2, candidates: "all", beamWidth: 2 },
      "igos-heatmaps": { images: 2, method: "occlusion" },
      "cross-test": { images: 2 },
      report: { bootstrap: 200 },
    },
  };
}

/** Runs `xcompare` in `cwd` (its own cli/main.ts) and returns the exit code and all output. */
export async function xcompare(
  cwd: string,
  args: string[],
  o: { allowWrite: string; env?: Record<string, string> },
): Promise<{ code: number; text: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...taskFlags(o.allowWrite), "cli/main.ts", ...args],
    cwd,
    env: { NO_COLOR: "1", ...o.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

/** `computed N` of a stage in reproduce's summary. */
export function computed(text: string, stage: string): number {
  const m = new RegExp(`^\\s+${stage}\\s+computed\\s+(\\d+)\\s+reused\\s+(\\d+)`, "m").exec(text);
  if (!m) throw new Error(`no summary line for ${stage} in:\n${text}`);
  return Number(m[1]);
}

/** Whether a copied checkout can run here: the zoo model and node_modules exist. */
export const checkoutCanRun = (() => {
  try {
    return Deno.statSync(join(ROOT, MODEL)).isFile && Deno.statSync(join(ROOT, "node_modules"))
      .isDirectory;
  } catch {
    return false;
  }
})();
