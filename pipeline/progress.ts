/**
 * Progress for long stages: on a terminal, one live line per stage with units done, rate and ETA;
 * otherwise plain log lines at most every `intervalMs`, so CI logs stay readable.
 */

export interface ProgressOptions {
  /** Write target; stderr by default. */
  write: (text: string) => void;
  /** Live redrawn line (terminal) or periodic lines. */
  live: boolean;
  intervalMs: number;
  now: () => number;
  /** What is counted, in the line: `units` of a stage, `images` of `xcompare evaluate`. */
  noun: string;
}

export const defaults: ProgressOptions = {
  write: (t) => Deno.stderr.writeSync(new TextEncoder().encode(t)),
  live: Deno.stderr.isTerminal(),
  intervalMs: 10_000,
  now: () => performance.now(),
  noun: "units",
};

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
  if (m < 60) return `${m}m${String(s).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

export class StageProgress {
  readonly #o: ProgressOptions;
  readonly #start: number;
  #last = -Infinity;
  #lastDone = -1;
  #done = 0;
  /** Fractional progress of units in flight, by unit id. */
  #partial = new Map<string, number>();

  constructor(readonly stage: string, readonly total: number, opts: Partial<ProgressOptions> = {}) {
    this.#o = { ...defaults, ...opts };
    this.#start = this.#o.now();
  }

  /** Progress inside a running unit, as a fraction in [0, 1]. */
  unit(id: string, fraction: number): void {
    this.#partial.set(id, Math.max(0, Math.min(1, fraction)));
    this.#draw(false);
  }

  unitDone(id: string): void {
    this.#partial.delete(id);
    this.#done++;
    this.#draw(false);
  }

  /** `n` finished together (a batch of images) with no unit in flight to forget. */
  advance(n: number): void {
    this.#done += n;
    this.#draw(false);
  }

  line(): string {
    const elapsed = (this.#o.now() - this.#start) / 1000;
    let partial = 0;
    for (const f of this.#partial.values()) partial += f;
    const done = this.#done + partial;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    const noun = this.#o.noun;
    return `${this.stage}: ${this.#done}/${this.total} ${noun}` +
      (this.#partial.size ? ` (+${this.#partial.size} running)` : "") +
      `, ${rate >= 1 ? `${rate.toFixed(1)} ${noun}/s` : `${(rate * 60).toFixed(1)} ${noun}/min`}` +
      `, elapsed ${formatDuration(elapsed)}, ETA ${
        done >= this.total ? "0s" : formatDuration(eta)
      }`;
  }

  #draw(force: boolean): void {
    const now = this.#o.now();
    if (this.#o.live) {
      if (!force && now - this.#last < 100) return;
      this.#last = now;
      this.#o.write(`\r\x1b[2K${this.line()}`);
    } else if ((force && this.#lastDone !== this.#done) || now - this.#last >= this.#o.intervalMs) {
      this.#last = now;
      this.#lastDone = this.#done;
      this.#o.write(`${this.line()}\n`);
    }
  }

  finish(): void {
    this.#draw(true);
    if (this.#o.live) this.#o.write("\n");
  }
}
