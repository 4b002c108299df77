/**
 * The code cites docs/METHODS.md by section number (`METHODS §3`, `METHODS.md §4-5`); this keeps
 * every cited section in existence, so a renumbered or deleted section fails here instead of
 * leaving comments that point at the wrong method.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Section numbers cited in `source`: `METHODS §2`, `METHODS.md §4-5` (a range cites each). */
function citedSections(source: string): number[] {
  const out: number[] = [];
  for (const m of source.matchAll(/METHODS(?:\.md)? §(\d+)(?:\s*[-–]\s*(\d+))?/g)) {
    const from = Number(m[1]), to = Number(m[2] ?? m[1]);
    for (let n = from; n <= to; n++) out.push(n);
  }
  return out;
}

/** Numbers of the `## N. Title` sections of a Markdown text. */
function sections(markdown: string): Set<number> {
  return new Set([...markdown.matchAll(/^## (\d+)\. /gm)].map((m) => Number(m[1])));
}

Deno.test("citedSections reads single sections and ranges", () => {
  const text = "see METHODS §1 item 2 and METHODS.md §4-5; METHODS.md alone";
  assertEquals(citedSections(text), [1, 4, 5]);
});

Deno.test("every METHODS section the code cites exists", async () => {
  const methods = sections(await Deno.readTextFile(join(ROOT, "docs/METHODS.md")));
  const git = await new Deno.Command("git", {
    args: ["ls-files", "--cached", "--others", "--exclude-standard", "--", "*.ts", "*.json"],
    cwd: ROOT,
    stdout: "piped",
  }).output();
  assert(git.success, "git ls-files failed");
  const missing: string[] = [];
  let citations = 0;
  for (const f of new TextDecoder().decode(git.stdout).split("\n").filter((f) => f !== "")) {
    let text: string;
    try {
      text = await Deno.readTextFile(join(ROOT, f));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue; // deleted in the worktree, still tracked
      throw e;
    }
    for (const n of citedSections(text)) {
      citations++;
      if (!methods.has(n)) missing.push(`${f} cites METHODS §${n}`);
    }
  }
  assert(citations > 0, "no citation found: the pattern no longer matches the code's");
  assert(missing.length === 0, `sections missing from docs/METHODS.md:\n${missing.join("\n")}`);
});
