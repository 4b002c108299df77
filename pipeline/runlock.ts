/**
 * One `reproduce` per store (per shard) at a time, and no run while `gc` sweeps the store. A
 * second run waits, saying who holds the lock, or with `wait: false` fails naming the holder.
 * Whether a holder is alive is read from its heartbeat (lock_holder.ts), which works without /proc
 * and across hosts sharing a store: a lock whose heartbeat is older than `staleMs` (a node that
 * died) is taken over, on any host. A holder of this host whose process is gone (a run killed with
 * SIGKILL; lib/pid_alive.ts asks the C library, since the app may not look at /proc) is taken over
 * sooner, once its heartbeat is `deadHolderMs` old: two missed beats, not a minute. The pid alone
 * never decides: a holder in another pid namespace under the same host name keeps beating. On SIGINT or
 * SIGTERM no new unit starts, the units in flight get `graceMs` to finish (pipeline/shutdown.ts),
 * then every lock the process holds is released before it exits; a unit cut short leaves only its
 * temporary directory, never a store entry, and the next `gc` removes it.
 */
import { basename, join } from "node:path";
import type { HeartbeatReport, HeartbeatStart } from "./heartbeat_worker.ts";
import { abandonInFlight, drain, inFlightCount, requestStop } from "./shutdown.ts";
import { pidAlive } from "../lib/pid_alive.ts";
import {
  create,
  describe,
  type Holder,
  hostname,
  isStale,
  newHolder,
  observe,
  type Observed,
  removeOwn,
  removeOwnSync,
  removeStale,
} from "./lock_holder.ts";

export interface RunLockOptions {
  /** Wait for a live holder; false: fail at once, naming it. */
  wait: boolean;
  pollMs: number;
  /** How often the holder rewrites its heartbeat. */
  heartbeatMs: number;
  /** A lock whose heartbeat is older than this is stale, and the next run takes it over. */
  staleMs: number;
  /**
   * A lock of this host whose process is gone is taken over once its heartbeat is this old
   * (default: twice `heartbeatMs`, so a live holder that missed one beat keeps it).
   */
  deadHolderMs?: number;
  /** Whether a pid of this host runs (true, false, or undefined: cannot tell). */
  pidAlive: (pid: number) => boolean | undefined;
  /** On SIGINT or SIGTERM, let the units in flight finish, release, and exit with 130 or 143. */
  releaseOnSignal: boolean;
  /**
   * How long the units in flight may run on after a signal before they are abandoned: below
   * Slurm's `--signal=B:TERM@120` lead and Kubernetes' terminationGracePeriodSeconds (120 s in
   * the generated jobs), so the lock is released before the hard kill.
   */
  graceMs: number;
  /**
   * Called once if the lock stops being ours while held: taken over after `staleMs` without a
   * heartbeat (a run suspended with Ctrl-Z for a minute, a node cut off), or removed. A run must
   * then start no new unit: another run may be using the store, or gc sweeping it.
   */
  onLost: () => void;
  log: (line: string) => void;
}

export const defaults: RunLockOptions = {
  wait: true,
  pollMs: 1000,
  heartbeatMs: 5000,
  staleMs: 60_000,
  pidAlive,
  releaseOnSignal: true,
  graceMs: 90_000,
  onLost: () => {},
  log: (l) => console.error(l),
};

/** The lock `gc` holds: no run starts while it is held, and gc holds it only while no run does. */
export const STORE_LOCK = "gc";

export class RunLock {
  #worker: Worker;
  /** Resolves once the heartbeat has beaten for the first time. */
  #started: Promise<void>;
  #stopped: Promise<void>;
  #released = false;
  #releasing: Promise<void> | null = null;
  #lost = false;

  private constructor(
    readonly path: string,
    readonly holder: Holder,
    readonly options: RunLockOptions,
  ) {
    this.#worker = new Worker(new URL("./heartbeat_worker.ts", import.meta.url).href, {
      type: "module",
    });
    let started = () => {}, stopped = () => {};
    this.#started = new Promise((r) => started = r);
    this.#stopped = new Promise((r) => stopped = r);
    this.#worker.onmessage = ({ data }: MessageEvent<HeartbeatReport>) => {
      if ("started" in data) started();
      else if ("stopped" in data) stopped();
      else if ("lost" in data) {
        if (this.#lost) return;
        this.#lost = true;
        options.log(
          `store lock ${path}: no longer ours (taken over or removed after more than ${
            options.staleMs / 1000
          } s without a heartbeat); no new unit starts, the units in flight finish`,
        );
        options.onLost();
      } else options.log(`store lock ${path}: heartbeat failed: ${data.failed}`);
    };
    this.#worker.onerror = (e) => {
      e.preventDefault();
      options.log(`store lock ${path}: heartbeat worker failed: ${e.message}`);
      started();
      stopped();
    };
    const start: HeartbeatStart = { path, holder, everyMs: options.heartbeatMs };
    this.#worker.postMessage(start);
    track(this);
  }

  /** Whether the lock stopped being ours while held (see `onLost`). */
  get lost(): boolean {
    return this.#lost;
  }

  /** The lock `<dir>/<name>.lock` of one run; waits while gc holds the store. */
  static async acquire(
    dir: string,
    name: string,
    opts: Partial<RunLockOptions> = {},
  ): Promise<RunLock> {
    const o = withDefaults(opts);
    await Deno.mkdir(dir, { recursive: true });
    const waiter = new Waiter(o);
    while (true) {
      const lock = await RunLock.#take(join(dir, `${name}.lock`), o, waiter);
      const gcPath = join(dir, `${STORE_LOCK}.lock`);
      const gc = await liveHolder(gcPath, o);
      if (!gc) return lock;
      await lock.release();
      await waiter.wait(gcPath, gc);
    }
  }

  /** The whole store, for gc: taken once no run (plain or shard) holds a lock in `dir`. */
  static async acquireStore(dir: string, opts: Partial<RunLockOptions> = {}): Promise<RunLock> {
    const o = withDefaults(opts);
    await Deno.mkdir(dir, { recursive: true });
    const waiter = new Waiter(o);
    const lock = await RunLock.#take(join(dir, `${STORE_LOCK}.lock`), o, waiter);
    try {
      while (true) {
        const run = await firstLiveRun(dir, o);
        if (!run) return lock;
        await waiter.wait(run.path, run.seen);
      }
    } catch (e) {
      await lock.release();
      throw e;
    }
  }

  /** Creates the lock file at `path`, waiting while a live holder has it. */
  static async #take(path: string, o: RunLockOptions, waiter: Waiter): Promise<RunLock> {
    while (true) {
      const holder = newHolder();
      if (await create(path, holder)) {
        const lock = new RunLock(path, holder, o);
        await lock.#started;
        return lock;
      }
      const seen = await liveHolder(path, o);
      if (seen) await waiter.wait(path, seen);
    }
  }

  /**
   * Stops the heartbeat and removes the lock file, if it is still ours. A second call (the signal
   * handler and the run's own `finally`) waits for the first to finish.
   */
  release(): Promise<void> {
    return this.#releasing ??= this.#release();
  }

  async #release(): Promise<void> {
    this.#worker.postMessage("stop");
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#stopped, new Promise((r) => timer = setTimeout(r, 5000))]);
    clearTimeout(timer);
    this.#worker.terminate();
    // Tracked until the file is gone: an exit meanwhile still removes it (releaseSync).
    await removeOwn(this.path, this.holder);
    this.#released = true;
    untrack(this);
  }

  /** The process is exiting: nothing can be awaited, so no heartbeat to stop either. */
  releaseSync(): void {
    if (this.#released) return;
    this.#released = true;
    untrack(this);
    removeOwnSync(this.path, this.holder);
  }
}

function withDefaults(opts: Partial<RunLockOptions>): RunLockOptions {
  const o = { ...defaults, ...opts };
  if (!(o.staleMs > 2 * o.heartbeatMs)) {
    throw new Error(
      `run lock: staleMs (${o.staleMs}) must exceed twice heartbeatMs (${o.heartbeatMs})`,
    );
  }
  return o;
}

/**
 * Why the lock `seen` may be taken over now, or null while its holder may be alive: no heartbeat
 * for `staleMs`, or a holder of this host whose process is gone and whose heartbeat is
 * `deadHolderMs` old.
 */
function staleBecause(seen: Observed, o: RunLockOptions): string | null {
  if (isStale(seen, o.staleMs)) return `no heartbeat for more than ${o.staleMs / 1000} s`;
  if (seen.ageMs > deadAfterMs(o) && holderGone(seen, o)) {
    return `its process ${seen.holder!.pid} is no longer running on this host and its ` +
      `heartbeat is ${Math.round(seen.ageMs / 100) / 10} s old (over ${deadAfterMs(o) / 1000} s)`;
  }
  return null;
}

/** How old the heartbeat of a holder whose process is gone must be before it is taken over. */
const deadAfterMs = (o: RunLockOptions) => o.deadHolderMs ?? 2 * o.heartbeatMs;

/** Whether `seen`'s holder ran on this host and its process is known to be gone. */
function holderGone(seen: Observed, o: RunLockOptions): boolean {
  const h = seen.holder;
  return h !== null && h.host === hostname() && o.pidAlive(h.pid) === false;
}

/** The lock at `path` if a live holder has it; a stale one is taken over (removed) and logged. */
async function liveHolder(path: string, o: RunLockOptions): Promise<Observed | null> {
  while (true) {
    const seen = await observe(path);
    const why = seen && staleBecause(seen, o);
    if (!seen || !why) return seen;
    if (await removeStale(path, (moved) => staleBecause(moved, o) !== null)) {
      o.log(`store lock: taking over from ${describe(path, seen)}: ${why}`);
    }
  }
}

/** Any run's live lock in `dir` (every `*.lock` but gc's own). */
async function firstLiveRun(
  dir: string,
  o: RunLockOptions,
): Promise<{ path: string; seen: Observed } | null> {
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".lock") || e.name === `${STORE_LOCK}.lock`) continue;
    const path = join(dir, e.name);
    const seen = await liveHolder(path, o);
    if (seen) return { path, seen };
  }
  return null;
}

/** Waits a poll interval for a live holder, saying once whom it waits for; or fails. */
class Waiter {
  #told = new Set<string>();
  constructor(readonly o: RunLockOptions) {}

  async wait(path: string, seen: Observed): Promise<void> {
    const what = basename(path) === `${STORE_LOCK}.lock`
      ? "xcompare gc holds the store"
      : "another xcompare run holds the store";
    const who = describe(path, seen);
    if (!this.o.wait) {
      // A holder of this host whose process is gone is about to be taken over: say when.
      throw new Error(
        `${what} (${who}); ` +
          (holderGone(seen, this.o)
            ? `its process is gone, so the lock is taken over once its heartbeat is ${
              deadAfterMs(this.o) / 1000
            } s old: rerun in a few seconds`
            : "rerun without --no-wait to wait for it"),
      );
    }
    const key = `${path}\0${seen.holder?.token}`;
    if (!this.#told.has(key)) {
      this.#told.add(key);
      this.o.log(
        `${what} (${who}); waiting for it to finish (taken over after ${
          this.o.staleMs / 1000
        } s without a heartbeat, or ${
          deadAfterMs(this.o) / 1000
        } s if it ran on this host and its process is gone)...`,
      );
    }
    await new Promise((r) => setTimeout(r, this.o.pollMs));
  }
}

/**
 * Locks this process holds, released on exit (synchronously: the lock file only) and, for those
 * that ask, on SIGINT and SIGTERM before the process exits.
 */
const held = new Set<RunLock>();
const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
const signalHandlers = new Map<Deno.Signal, () => void>();

const releaseAllSync = () => {
  for (const l of [...held]) l.releaseSync();
};

let stopping = false;

function onSignal(signal: Deno.Signal): () => void {
  return async () => {
    const log = [...held][0]?.options.log ?? defaults.log;
    if (stopping) {
      log(`${signal} again: abandoning the units in flight`);
      abandonInFlight();
      return;
    }
    stopping = true;
    const n = inFlightCount();
    if (n > 0) {
      const grace = Math.max(...[...held].map((l) => l.options.graceMs));
      log(
        `${signal}: starting no new unit; waiting up to ${grace / 1000} s for the ${n} in flight ` +
          `(signal again to abandon them)`,
      );
      if (!await drain(signal, grace)) log(`${signal}: abandoning the units still in flight`);
    } else requestStop(signal);
    const locks = [...held];
    log(`${signal}: releasing the store lock and exiting; the store keeps only complete units`);
    await Promise.all(locks.map((l) => l.release()));
    Deno.exit(signal === "SIGINT" ? 130 : 143);
  };
}

function track(lock: RunLock): void {
  if (held.size === 0) globalThis.addEventListener("unload", releaseAllSync);
  held.add(lock);
  if (!lock.options.releaseOnSignal || signalHandlers.size > 0) return;
  for (const s of signals) {
    const handler = onSignal(s);
    try {
      Deno.addSignalListener(s, handler);
      signalHandlers.set(s, handler);
    } catch { /* a signal this platform does not have (SIGTERM on Windows) */ }
  }
}

function untrack(lock: RunLock): void {
  held.delete(lock);
  if (held.size === 0) globalThis.removeEventListener("unload", releaseAllSync);
  if ([...held].some((l) => l.options.releaseOnSignal)) return;
  for (const [s, handler] of signalHandlers) Deno.removeSignalListener(s, handler);
  signalHandlers.clear();
}
