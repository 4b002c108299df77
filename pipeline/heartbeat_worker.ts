/**
 * A Web Worker that rewrites a held lock's heartbeat every few seconds. It runs off the main
 * thread so that a long synchronous computation in a stage cannot make a live run look dead.
 */
import { beat, type Holder } from "./lock_holder.ts";

export interface HeartbeatStart {
  path: string;
  holder: Holder;
  everyMs: number;
}

/**
 * What the worker tells its owner: it beat once and keeps beating, the lock is no longer ours, a
 * write failed, or it stopped.
 */
export type HeartbeatReport =
  | { started: true }
  | { lost: true }
  | { failed: string }
  | { stopped: true };

const scope = globalThis as unknown as {
  onmessage: (e: MessageEvent<HeartbeatStart | "stop">) => void;
  postMessage: (r: HeartbeatReport) => void;
  close: () => void;
};

let timer: ReturnType<typeof setInterval> | undefined;
let pending = Promise.resolve();
let lost = false;

function tick(path: string, holder: Holder): Promise<void> {
  return pending = pending.then(async () => {
    if (lost || await beat(path, holder)) return;
    lost = true;
    clearInterval(timer);
    scope.postMessage({ lost: true });
  }).catch((e) => scope.postMessage({ failed: e instanceof Error ? e.message : String(e) }));
}

scope.onmessage = async ({ data }) => {
  if (data === "stop") {
    clearInterval(timer);
    await pending;
    scope.postMessage({ stopped: true });
    scope.close();
    return;
  }
  const { path, holder, everyMs } = data;
  timer = setInterval(() => tick(path, holder), everyMs);
  await tick(path, holder);
  scope.postMessage({ started: true });
};
