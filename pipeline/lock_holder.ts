/**
 * The record inside a store lock file: who holds it (host, pid, start) and its heartbeat. Whether
 * a holder is alive is judged by the age of its heartbeat; its pid only hastens that on its own
 * host (runlock.ts): a pid means nothing on another host.
 */

export interface Holder {
  host: string;
  pid: number;
  /** The command line, so a waiter can say what it waits for. */
  command: string;
  startedAt: string;
  /** Rewritten every few seconds while the lock is held. */
  heartbeatAt: string;
  /** Unique per acquisition: tells our lock from one that replaced it. */
  token: string;
}

/**
 * A lock file as a waiter sees it. A file that cannot be parsed (being created, truncated, or
 * written by an older xcompare) has no holder; its age is that of its mtime, so it is
 * taken over only once nobody has touched it for the stale timeout.
 */
export type Observed =
  | { holder: Holder; ageMs: number }
  | { holder: null; ageMs: number; detail: string };

/** This host's name, as locks record it. */
export function hostname(): string {
  try {
    return Deno.hostname();
  } catch { // run without --allow-sys
    return "an unknown host";
  }
}

export function newHolder(): Holder {
  const now = new Date().toISOString();
  return {
    host: hostname(),
    pid: Deno.pid,
    command: ["xcompare", ...Deno.args].join(" "),
    startedAt: now,
    heartbeatAt: now,
    token: crypto.randomUUID(),
  };
}

function parseHolder(text: string): Holder | null {
  try {
    const h = JSON.parse(text);
    const ok = h && typeof h === "object" && typeof h.host === "string" &&
      typeof h.pid === "number" && typeof h.token === "string" &&
      typeof h.startedAt === "string" && !Number.isNaN(Date.parse(h.heartbeatAt));
    return ok ? h : null;
  } catch {
    return null;
  }
}

/** The lock file at `path` as it is now; null when there is none. */
export async function observe(path: string, now = Date.now()): Promise<Observed | null> {
  let text: string, mtime: number;
  try {
    text = await Deno.readTextFile(path);
    mtime = (await Deno.stat(path)).mtime?.getTime() ?? now;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const holder = parseHolder(text);
  if (holder) return { holder, ageMs: now - Date.parse(holder.heartbeatAt) };
  return {
    holder: null,
    ageMs: now - mtime,
    detail: text.length === 0 ? "an empty lock file" : "an unreadable lock file",
  };
}

/**
 * Only a heartbeat older than the timeout makes a lock stale. Across hosts this compares their
 * clocks, so it assumes they agree to within a small part of the timeout (NTP keeps them within
 * a second; the default timeout is a minute).
 */
export function isStale(o: Observed, staleMs: number): boolean {
  return o.ageMs > staleMs;
}

/** Who holds `path`, for messages: host, pid, command, start and heartbeat age. */
export function describe(path: string, o: Observed): string {
  const age = `${Math.max(0, Math.round(o.ageMs / 1000))} s ago`;
  if (!o.holder) return `${o.detail} ${path}, last written ${age}`;
  const h = o.holder;
  return `pid ${h.pid} on ${h.host} (${h.command}), started ${h.startedAt}, last heartbeat ${age}; lock ${path}`;
}

/** Creates the lock file with `holder` in it; false when one exists already. */
export async function create(path: string, holder: Holder): Promise<boolean> {
  try {
    await Deno.writeTextFile(path, JSON.stringify(holder), { createNew: true });
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return false;
    throw e;
  }
}

/**
 * Rewrites the heartbeat of our lock atomically (temporary file, then rename). Returns false,
 * writing nothing, when the lock file is no longer ours: it was taken over or removed.
 */
export async function beat(path: string, holder: Holder): Promise<boolean> {
  const now = await observe(path).catch(() => null);
  if (now?.holder?.token !== holder.token) return false;
  holder.heartbeatAt = new Date().toISOString();
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(holder));
  await Deno.rename(tmp, path);
  return true;
}

/**
 * Removes a lock judged stale. Moves it aside first and judges the moved file again, so that
 * of two waiters taking over the same stale lock, the second cannot delete the fresh lock the
 * first has created meanwhile: a moved file that turns out fresh is put back.
 */
export async function removeStale(
  path: string,
  stale: (o: Observed) => boolean,
): Promise<boolean> {
  const aside = `${path}.stale-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.rename(path, aside);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  const moved = await observe(aside);
  if (moved && !stale(moved)) {
    try {
      await Deno.link(aside, path);
    } catch { /* another lock was created meanwhile; the moved one's holder will notice */ }
    await Deno.remove(aside).catch(() => {});
    return false;
  }
  await Deno.remove(aside).catch(() => {});
  return true;
}

/** Removes the lock file only if it is still ours. */
export async function removeOwn(path: string, holder: Holder): Promise<void> {
  const now = await observe(path).catch(() => null);
  if (now?.holder?.token === holder.token) await Deno.remove(path).catch(() => {});
}

/** removeOwn for the moment the process exits, when nothing can be awaited. */
export function removeOwnSync(path: string, holder: Holder): void {
  try {
    if (parseHolder(Deno.readTextFileSync(path))?.token === holder.token) Deno.removeSync(path);
  } catch { /* gone already */ }
}
