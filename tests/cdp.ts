/**
 * A small Chrome DevTools Protocol client for browser tests. playwright-core reads
 * /proc/sys/fs/binfmt_misc/WSLInterop when it loads, which Deno permits only under --allow-all;
 * this client needs just --allow-run, --allow-write (temp profile) and --allow-net=127.0.0.1.
 */

export interface Options {
  /** The Chromium binary. */
  executable: string;
  /** Flags passed before --remote-debugging-port and --user-data-dir. */
  args: string[];
  /** How long Chromium may take to print its DevTools address, in ms. */
  launchTimeoutMs: number;
  /** Default timeout of every command and event wait, in ms. */
  timeoutMs: number;
  /** How long close() waits for Chromium to exit before it is killed, in ms. */
  closeTimeoutMs: number;
}

export const defaults: Options = {
  executable: "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
  ],
  launchTimeoutMs: 30_000,
  timeoutMs: 30_000,
  closeTimeoutMs: 5_000,
};

export class CdpError extends Error {
  override name = "CdpError";
}

// deno-lint-ignore no-explicit-any
type Params = Record<string, any>;
type Listener = (params: Params) => void;

/** Races `p` against a timer that is always cleared, so no timer outlives the wait. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CdpError(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** One WebSocket session with a DevTools target: commands with ids, and event listeners. */
export class CdpSession {
  #ws: WebSocket;
  #nextId = 1;
  #pending = new Map<number, {
    method: string;
    resolve: (v: Params) => void;
    reject: (e: Error) => void;
  }>();
  #listeners = new Map<string, Set<Listener>>();
  #closed: Promise<void>;
  #isClosed = false;
  readonly url: string;
  readonly timeoutMs: number;

  private constructor(ws: WebSocket, url: string, timeoutMs: number) {
    this.#ws = ws;
    this.url = url;
    this.timeoutMs = timeoutMs;
    this.#closed = new Promise((resolve) => {
      ws.addEventListener("close", () => {
        this.#isClosed = true;
        for (const p of this.#pending.values()) {
          p.reject(new CdpError(`${p.method}: DevTools socket ${url} closed`));
        }
        this.#pending.clear();
        resolve();
      });
    });
    ws.addEventListener("message", (ev) => this.#onMessage(ev.data));
  }

  /** Opens a session on a target's webSocketDebuggerUrl. */
  static async connect(url: string, timeoutMs = defaults.timeoutMs): Promise<CdpSession> {
    const ws = new WebSocket(url);
    const session = new CdpSession(ws, url, timeoutMs);
    const opened = new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener(
        "error",
        (e) => reject(new CdpError(`cannot open ${url}: ${(e as ErrorEvent).message}`)),
        { once: true },
      );
    });
    try {
      await withTimeout(opened, timeoutMs, `opening ${url}`);
    } catch (e) {
      await session.close();
      throw e;
    }
    return session;
  }

  #onMessage(data: unknown): void {
    if (typeof data !== "string") return;
    const msg = JSON.parse(data) as {
      id?: number;
      result?: Params;
      error?: { code: number; message: string; data?: string };
      method?: string;
      params?: Params;
    };
    if (msg.id !== undefined) {
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.error) {
        const detail = msg.error.data ? ` (${msg.error.data})` : "";
        p.reject(new CdpError(`${p.method}: ${msg.error.message}${detail}`));
      } else p.resolve(msg.result ?? {});
    } else if (msg.method) {
      for (const l of this.#listeners.get(msg.method) ?? []) l(msg.params ?? {});
    }
  }

  /** Sends a command and resolves with its result; rejects on a protocol error or timeout. */
  send<T = Params>(method: string, params: Params = {}, timeoutMs = this.timeoutMs): Promise<T> {
    if (this.#isClosed || this.#ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new CdpError(`${method}: DevTools socket ${this.url} is not open`));
    }
    const id = this.#nextId++;
    const reply = new Promise<Params>((resolve, reject) => {
      this.#pending.set(id, { method, resolve, reject });
    });
    this.#ws.send(JSON.stringify({ id, method, params }));
    return withTimeout(reply, timeoutMs, method).finally(() => this.#pending.delete(id)) as Promise<
      T
    >;
  }

  /** Calls `listener` on every `event`; returns the function that removes it. */
  on(event: string, listener: Listener): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, set = new Set());
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Resolves with the params of the next `event` that satisfies `predicate`. */
  waitFor(
    event: string,
    predicate: (params: Params) => boolean = () => true,
    timeoutMs = this.timeoutMs,
  ): Promise<Params> {
    let off = () => {};
    const hit = new Promise<Params>((resolve) => {
      off = this.on(event, (p) => {
        if (predicate(p)) resolve(p);
      });
    });
    return withTimeout(hit, timeoutMs, `waiting for ${event}`).finally(() => off());
  }

  /**
   * Evaluates `expression` in the page (awaiting a returned promise) and returns its value as JSON;
   * a thrown exception rejects with its description.
   */
  async evaluate<T = unknown>(expression: string, timeoutMs = this.timeoutMs): Promise<T> {
    const r = await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    }, timeoutMs);
    if (r.exceptionDetails) {
      const d = r.exceptionDetails;
      throw new CdpError(
        `Runtime.evaluate threw: ${d.exception?.description ?? d.text}\nexpression: ${expression}`,
      );
    }
    return r.result?.value as T;
  }

  /** Polls `expression` until it is truthy; rejects after `timeoutMs`. */
  async waitUntil(expression: string, timeoutMs = this.timeoutMs, everyMs = 100): Promise<void> {
    const end = Date.now() + timeoutMs;
    // Each poll gets the session's full timeout: a poll cut short by a loaded machine would
    // report the poll, not the condition, as what timed out.
    while (!(await this.evaluate<boolean>(`!!(${expression})`))) {
      if (Date.now() >= end) {
        throw new CdpError(`waiting for ${expression}: timed out after ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  /** Closes the socket and waits (bounded) for the close to complete. */
  async close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) return;
    if (this.#ws.readyState !== WebSocket.CLOSING) this.#ws.close();
    await withTimeout(this.#closed, this.timeoutMs, `closing ${this.url}`).catch(() => {});
  }
}

/** A headless Chromium started with --remote-debugging-port=0 and a fresh temp profile. */
export class Chromium {
  #child: Deno.ChildProcess;
  #sessions: CdpSession[] = [];
  #stderrTail: string[];
  #drain: Promise<void>;
  readonly profile: string;
  readonly port: number;
  readonly browserUrl: string;
  readonly options: Options;

  private constructor(
    child: Deno.ChildProcess,
    profile: string,
    browserUrl: string,
    stderrTail: string[],
    drain: Promise<void>,
    options: Options,
  ) {
    this.#child = child;
    this.profile = profile;
    this.browserUrl = browserUrl;
    this.port = Number(new URL(browserUrl).port);
    this.#stderrTail = stderrTail;
    this.#drain = drain;
    this.options = options;
  }

  /** Starts Chromium and waits for the "DevTools listening on ws://..." line on its stderr. */
  static async launch(options: Partial<Options> = {}): Promise<Chromium> {
    const o: Options = { ...defaults, ...options };
    const profile = await Deno.makeTempDir({ prefix: "xcompare-chromium-" });
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(o.executable, {
        args: [...o.args, "--remote-debugging-port=0", `--user-data-dir=${profile}`, "about:blank"],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw new CdpError(`cannot start ${o.executable}: ${(e as Error).message}`);
    }

    // Stderr is read to its end in the background (a full pipe would stall Chromium); the last
    // lines are kept for error messages.
    const tail: string[] = [];
    let found: (url: string) => void = () => {};
    const address = new Promise<string>((resolve) => found = resolve);
    const drain = (async () => {
      let buf = "";
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const m = line.match(/DevTools listening on (ws:\/\/\S+)/);
          if (m) found(m[1]);
          tail.push(line);
          if (tail.length > 40) tail.shift();
        }
      }
      if (buf) tail.push(buf);
    })();
    const exited = child.status.then((s) => {
      throw new CdpError(
        `${o.executable} exited (code ${s.code}) before DevTools listened:\n${tail.join("\n")}`,
      );
    });

    let url: string;
    try {
      url = await withTimeout(
        Promise.race([address, exited]),
        o.launchTimeoutMs,
        `${o.executable}: waiting for "DevTools listening on"`,
      );
    } catch (e) {
      await Chromium.#stop(child, drain, o.closeTimeoutMs);
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw e;
    }
    exited.catch(() => {});
    const u = new URL(url);
    if (u.hostname !== "127.0.0.1") {
      u.hostname = "127.0.0.1"; // stay on the loopback address --allow-net=127.0.0.1 permits
    }
    return new Chromium(child, profile, u.href, tail, drain, o);
  }

  /** The last lines Chromium wrote to stderr. */
  get stderrTail(): string {
    return this.#stderrTail.join("\n");
  }

  async #json<T>(path: string, method = "GET"): Promise<T> {
    const url = `http://127.0.0.1:${this.port}${path}`;
    const ctl = new AbortController();
    const res = await withTimeout(
      fetch(url, { method, signal: ctl.signal }),
      this.options.timeoutMs,
      `${method} ${url}`,
    ).catch((e) => {
      ctl.abort();
      throw e;
    });
    const text = await res.text();
    if (!res.ok) throw new CdpError(`${method} ${url}: HTTP ${res.status}: ${text}`);
    return JSON.parse(text) as T;
  }

  /** Connects to the first page target of /json/list, or to a new one from /json/new. */
  async newPage(): Promise<CdpSession> {
    type Target = { type: string; url: string; webSocketDebuggerUrl?: string };
    const end = Date.now() + this.options.timeoutMs;
    let page: Target | undefined;
    while (!page && Date.now() < end) {
      const list = await this.#json<Target[]>("/json/list");
      page = list.find((t) => t.type === "page" && t.webSocketDebuggerUrl);
      if (!page) await new Promise((r) => setTimeout(r, 100));
    }
    page ??= await this.#json<Target>("/json/new?about:blank", "PUT");
    if (!page.webSocketDebuggerUrl) {
      throw new CdpError(`page target ${page.url} has no webSocketDebuggerUrl`);
    }
    const u = new URL(page.webSocketDebuggerUrl);
    u.hostname = "127.0.0.1";
    const session = await CdpSession.connect(u.href, this.options.timeoutMs);
    this.#sessions.push(session);
    return session;
  }

  static async #stop(child: Deno.ChildProcess, drain: Promise<void>, ms: number): Promise<void> {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    const done = await withTimeout(child.status, ms, "Chromium exit").catch(() => null);
    if (!done) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
    }
    await withTimeout(drain, ms, "Chromium stderr").catch(() => {});
  }

  /** Closes every session, stops Chromium (SIGTERM, then SIGKILL) and removes the profile. */
  async close(): Promise<void> {
    await Promise.all(this.#sessions.map((s) => s.close()));
    this.#sessions = [];
    await Chromium.#stop(this.#child, this.#drain, this.options.closeTimeoutMs);
    await Deno.remove(this.profile, { recursive: true }).catch(() => {});
  }
}
