/**
 * Graceful stop. A SIGTERM comes before a hard kill: Slurm sends it `--signal=B:TERM@120` before a
 * time limit and on preemption, Kubernetes on eviction or a deadline, with a grace period before
 * SIGKILL. On the first signal the runner starts no new unit and the units in flight get up to a
 * grace period to finish and commit; then the store lock is released and the process exits
 * (pipeline/runlock.ts owns the signal handlers). A unit cut short leaves only its temporary
 * directory, because a store entry appears only by an atomic rename (pipeline/store.ts). A second
 * signal abandons the units in flight at once.
 */

let requested: Deno.Signal | null = null;
const inFlight = new Set<Promise<unknown>>();
let abandon: (() => void) | null = null;

/** The signal that asked this process to stop, or null. */
export function stopRequested(): Deno.Signal | null {
  return requested;
}

/** No new unit starts from now on. */
export function requestStop(signal: Deno.Signal): void {
  requested ??= signal;
}

/** Runs `work` as a unit in flight: a graceful stop waits for it. */
export function track<T>(work: Promise<T>): Promise<T> {
  inFlight.add(work);
  const done = () => inFlight.delete(work);
  work.then(done, done);
  return work;
}

/** Units in flight now. */
export function inFlightCount(): number {
  return inFlight.size;
}

/**
 * The first signal: no new unit starts from now on. Resolves once the units in flight finished
 * (true), or after `graceMs` or at the next `abandonInFlight()` (false).
 */
export async function drain(signal: Deno.Signal, graceMs: number): Promise<boolean> {
  requestStop(signal);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cut = new Promise<false>((resolve) => {
    abandon = () => resolve(false);
    timer = setTimeout(() => resolve(false), graceMs);
  });
  const finished = (async () => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    return true as const;
  })();
  try {
    return await Promise.race([finished, cut]);
  } finally {
    clearTimeout(timer);
    abandon = null;
  }
}

/** A second signal: stop waiting for the units in flight. */
export function abandonInFlight(): void {
  abandon?.();
}
