/**
 * One `reproduce` per store (per shard) at a time. A second one waits, printing who holds the
 * lock, or exits with a clear message. A lock left by a killed run (dead pid) is taken over.
 */
import { join } from "node:path";

export interface RunLockOptions {
  wait: boolean;
  pollMs: number;
  log: (line: string) => void;
}

export const defaults: RunLockOptions = { wait: true, pollMs: 1000, log: (l) => console.error(l) };

interface Holder {
  pid: number;
  hostname: string;
  startedAt: string;
  command: string;
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

export class RunLock {
  private constructor(readonly path: string) {}

  static async acquire(
    dir: string,
    name: string,
    opts: Partial<RunLockOptions> = {},
  ): Promise<RunLock> {
    const o = { ...defaults, ...opts };
    await Deno.mkdir(dir, { recursive: true });
    const path = join(dir, `${name}.lock`);
    const me: Holder = {
      pid: Deno.pid,
      hostname: Deno.hostname(),
      startedAt: new Date().toISOString(),
      command: Deno.args.join(" "),
    };
    let told = false;
    while (true) {
      try {
        await Deno.writeTextFile(path, JSON.stringify(me), { createNew: true });
        return new RunLock(path);
      } catch (e) {
        if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      }
      let holder: Holder | null = null;
      try {
        holder = JSON.parse(await Deno.readTextFile(path));
      } catch { /* being written; retry */ }
      if (holder && holder.hostname === Deno.hostname() && !alive(holder.pid)) {
        o.log(`store lock ${path}: its holder (pid ${holder.pid}) is gone; taking it over`);
        await Deno.remove(path).catch(() => {});
        continue;
      }
      const who = holder
        ? `pid ${holder.pid} on ${holder.hostname}, since ${holder.startedAt}`
        : "another run";
      if (!o.wait) {
        throw new Error(
          `another xcompare run holds the store (${who}); wait for it, or rerun with --wait`,
        );
      }
      if (!told) {
        o.log(`another xcompare run holds the store (${who}); waiting for it to finish...`);
        told = true;
      }
      await new Promise((r) => setTimeout(r, o.pollMs));
    }
  }

  async release(): Promise<void> {
    await Deno.remove(this.path).catch(() => {});
  }
}
