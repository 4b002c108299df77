/**
 * The house rule on layers, as a test over the import graph, so that a forbidden import fails CI
 * instead of waiting for a reviewer:
 * - `explain/` and `report/` (pure cores, readable without a model) import neither `runtime/` nor
 *   the engine (`pipeline/`), nor `cli/` or `stages/`;
 * - `runtime/` (models and images) imports neither `pipeline/` nor `cli/` or `stages/`;
 * - `pipeline/` (the engine, which knows nothing of explanations) imports only `lib/`;
 * - `lib/` imports no other project folder.
 * Folders without a rule (`cli/`, `stages/`, `bench/`, `tests/`, `tools/`, `configs/`) may import
 * any layer. Decision: a test file (`*_test.ts`) may also import anything under `tests/` (the
 * assertions and the shared fixtures): test helpers are not part of the layer they exercise, and a
 * fixture's own imports are checked under the `tests/` folder, which has no rule.
 * Only direct imports are checked: every layer's allowed targets obey their own rules, so the
 * direct check covers the transitive one.
 */
import { dirname, join, normalize } from "node:path";
import { localImports, locatedFiles } from "../lib/hash.ts";
import { assert, assertEquals } from "./assert.ts";

/** The project folders a layer may not import, or the only ones it may; `why` names the rule. */
type Layer =
  | { forbidden: readonly string[]; why: string }
  | { only: readonly string[]; why: string };

const ENGINE_AND_ABOVE = ["runtime", "pipeline", "cli", "stages"];

const LAYERS: Record<string, Layer> = {
  explain: { forbidden: ENGINE_AND_ABOVE, why: "explain/ imports neither runtime nor the engine" },
  report: { forbidden: ENGINE_AND_ABOVE, why: "report/ imports neither runtime nor the engine" },
  runtime: {
    forbidden: ["pipeline", "cli", "stages"],
    why: "runtime/ does not import the engine, cli/ or stages/",
  },
  pipeline: { only: ["pipeline", "lib"], why: "pipeline/ imports no project folder but lib/" },
  lib: { only: ["lib"], why: "lib/ imports nothing of the project" },
};

/** Workers are modules too: a located `.ts` file is an import. */
const moduleFile = /\.[cm]?[jt]sx?$/;

/** Relative specifiers a module imports: static, re-export, `import()`, and worker URLs. */
function importsOf(source: string): string[] {
  return [...localImports(source), ...locatedFiles(source).filter((f) => moduleFile.test(f))];
}

/**
 * Each forbidden import among `files` (repository-relative path → source text), as
 * "file imports specifier (target): rule". Imports that leave the repository are not checked.
 */
function layerViolations(files: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [file, source] of files) {
    const layer = LAYERS[file.split("/")[0]];
    if (!layer) continue;
    const isTest = file.endsWith("_test.ts");
    for (const spec of importsOf(source)) {
      const target = normalize(join(dirname(file), spec));
      if (target.startsWith("..")) continue;
      const folder = target.includes("/") ? target.split("/")[0] : "";
      if (isTest && folder === "tests") continue;
      const allowed = "only" in layer
        ? layer.only.includes(folder)
        : !layer.forbidden.includes(folder);
      if (!allowed) out.push(`${file} imports ${spec} (${target}): ${layer.why}`);
    }
  }
  return out;
}

const ROOT = new URL("..", import.meta.url).pathname;

/** The repository's .ts files (tracked or new, not ignored), relative to its root. */
async function repositoryTsFiles(): Promise<string[]> {
  const git = await new Deno.Command("git", {
    args: ["ls-files", "--cached", "--others", "--exclude-standard", "--", "*.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!git.success) throw new Error(`git ls-files: ${new TextDecoder().decode(git.stderr)}`);
  return new TextDecoder().decode(git.stdout).split("\n").filter((f) => f !== "");
}

Deno.test("importsOf finds every kind of relative import, and nothing else", () => {
  const src = [
    'import { a } from "./a.ts";',
    'import type { T } from "../explain/t.ts";',
    "import {",
    "  b,",
    "  c,",
    '} from "../runtime/bc.ts";',
    'import * as ort from "onnxruntime-node";',
    'export { d } from "../pipeline/d.ts";',
    'export * from "./e.ts";',
    'import "./side.ts";',
    'const f = await import("../stages/f.ts");',
    'const w = new Worker(new URL("./worker_main.ts", import.meta.url).href, { type: "module" });',
    'const data = new URL("../tests/fixtures/x.json", import.meta.url);',
    'const v = () => import("vega");',
  ].join("\n");
  assertEquals(importsOf(src).sort(), [
    "../explain/t.ts",
    "../pipeline/d.ts",
    "../runtime/bc.ts",
    "../stages/f.ts",
    "./a.ts",
    "./e.ts",
    "./side.ts",
    "./worker_main.ts",
  ]);
});

Deno.test("layerViolations applies each rule and the test-file exception", () => {
  const files = new Map([
    ["explain/ok.ts", 'import "../lib/rng.ts";\nimport "./memo.ts";'],
    ["explain/bad.ts", 'import { x } from "../runtime/session.ts";'],
    ["report/bad.ts", 'const m = await import("../pipeline/store.ts");'],
    ["runtime/ok.ts", 'import type { Scorer } from "../explain/scorer.ts";'],
    ["runtime/onnx/bad.ts", 'export { s } from "../../stages/index.ts";'],
    ["runtime/bad_worker.ts", 'new Worker(new URL("../cli/main.ts", import.meta.url));'],
    ["pipeline/ok.ts", 'import "../lib/hash.ts";\nimport "./store.ts";'],
    ["pipeline/ok_test.ts", 'import "../tests/assert.ts";\nimport "../tests/fixtures/f.ts";'],
    ["pipeline/bad.ts", 'import "../tests/assert.ts";'],
    ["pipeline/bad_test.ts", 'import "../explain/memo.ts";'],
    ["lib/ok_test.ts", 'import "../tests/assert.ts";\nimport "./hash.ts";'],
    ["lib/bad.ts", 'import "../explain/stats.ts";'],
    ["stages/free.ts", 'import "../pipeline/stage.ts";\nimport "../runtime/session.ts";'],
    ["explain/outside_test.ts", 'const u = new URL("../../shared/x.ts", import.meta.url);'],
  ]);
  assertEquals(layerViolations(files).map((v) => v.split(" ")[0]), [
    "explain/bad.ts",
    "report/bad.ts",
    "runtime/onnx/bad.ts",
    "runtime/bad_worker.ts",
    "pipeline/bad.ts",
    "pipeline/bad_test.ts",
    "lib/bad.ts",
  ]);
});

Deno.test("no module imports across the layers' boundaries", async () => {
  const files = new Map<string, string>();
  for (const f of await repositoryTsFiles()) {
    try {
      files.set(f, await Deno.readTextFile(join(ROOT, f)));
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e; // deleted in the worktree, still tracked
    }
  }
  // The parser must see the repository's known imports, or an empty result would prove nothing.
  const known = importsOf(files.get("runtime/worker_session.ts") ?? "");
  assert(known.includes("./worker_session_main.ts"), "the worker import was not found");
  const violations = layerViolations(files);
  assert(
    violations.length === 0,
    `${violations.length} imports break the layers:\n${violations.join("\n")}`,
  );
});
