/**
 * Replacing a folder with a copy of another, as `reports/latest` is refreshed: whole or not at
 * all, and safe when two processes do it at once.
 */
import { join } from "node:path";

/**
 * Replaces `dest` with a copy of `src`, never leaving a partial copy at `dest`: the copy is made in
 * a sibling folder and renamed into place. A copy rather than a symlink: Deno's path-scoped
 * --allow-write cannot create symlinks (NotCapable), and a copy survives moving the folder. A
 * folder cannot be renamed over a non-empty one (ENOTEMPTY), so the old copy is first renamed
 * aside: a reader finds the old copy whole, the new one whole, or for the instant between the two
 * renames none, never a mix. Concurrent replacements (two up-to-date reruns, which skip the store's
 * lock) each rename aside whatever is in place and retry until their own copy lands: the last one
 * wins, neither fails, and each removes only the folders it made.
 */
export async function replaceDir(src: string, dest: string): Promise<void> {
  const tag = `${Deno.pid}.${crypto.randomUUID().slice(0, 8)}`;
  const tmp = `${dest}.${tag}.tmp`;
  const aside: string[] = [];
  try {
    await copyDir(src, tmp);
    for (let attempt = 0;; attempt++) {
      try {
        await Deno.rename(tmp, dest);
        return;
      } catch (e) {
        // Anything but a folder in the way (or one in the way that keeps coming back) is an error.
        if (attempt >= 50 || !inTheWay(e)) {
          throw new Error(
            `${dest} cannot be replaced by the new copy (${
              (e as Error).message.replace(/: rename .*$/s, "")
            }): move whatever is at ${dest} aside; ${src} holds the run`,
          );
        }
      }
      const old = `${dest}.${tag}.${attempt}.old`;
      try {
        await Deno.rename(dest, old);
        aside.push(old);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e; // another process moved it first
      }
    }
  } finally {
    for (const d of [tmp, ...aside]) {
      await Deno.remove(d, { recursive: true }).catch((e) => {
        if (e instanceof Deno.errors.NotFound) return;
        // Not a run (gc and diff skip it, gc removes it later), but said, not hidden.
        console.error(
          `xcompare: could not remove ${d} (${(e as Error).message}); remove it by hand`,
        );
      });
    }
  }
}
/** Whether a rename failed because a non-empty folder is at the destination. */
function inTheWay(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return e instanceof Deno.errors.AlreadyExists || code === "ENOTEMPTY" || code === "EEXIST";
}

async function copyDir(src: string, dest: string): Promise<void> {
  await Deno.mkdir(dest, { recursive: true });
  for await (const e of Deno.readDir(src)) {
    if (e.isDirectory) await copyDir(join(src, e.name), join(dest, e.name));
    else await Deno.copyFile(join(src, e.name), join(dest, e.name));
  }
}
