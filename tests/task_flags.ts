/**
 * The permission flags of a deno.json task, read from deno.json itself, so a test that starts the
 * CLI runs it under exactly the flags users get (a hand-written copy goes stale: Deno's scoped
 * permissions differ from -A in ways only the real flags show).
 */
const DENO_JSON = new URL("../deno.json", import.meta.url);

/** The `--allow-*` flags of `task` (default `xcompare`), with `--allow-write` confined to `allowWrite`. */
export function taskFlags(allowWrite: string, task = "xcompare"): string[] {
  const tasks = JSON.parse(Deno.readTextFileSync(DENO_JSON)).tasks as Record<string, string>;
  const command = tasks[task];
  if (!command) throw new Error(`deno.json: no task "${task}"`);
  const flags = command.split(/\s+/).filter((w) => w.startsWith("--allow-"));
  if (!flags.some((f) => f.startsWith("--allow-write"))) {
    throw new Error(`deno.json: task "${task}" has no --allow-write to confine`);
  }
  return flags.map((f) => f.startsWith("--allow-write") ? `--allow-write=${allowWrite}` : f);
}
