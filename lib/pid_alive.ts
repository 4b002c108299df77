/**
 * Whether a process of this host is still running, asked of the C library's `kill(pid, 0)`
 * through Deno's FFI. The app's permissions (the `xcompare` task: no --allow-run, and
 * path-scoped grants that Deno answers NotCapable for any look at /proc) leave FFI as the one
 * way to ask; --allow-ffi is among them because onnxruntime needs it. Signal 0 delivers nothing:
 * it only checks that the pid exists (EPERM: it exists, owned by another user). Where the answer
 * cannot be had (no FFI permission, no known C library, Windows) it is `undefined`, and callers
 * fall back to what they did before (the lock's heartbeat timeout).
 */

const ESRCH = 3; // "No such process", the same on Linux and macOS

interface Libc {
  kill(pid: number, signal: number): number;
  errno(): number;
}

let libc: Libc | null | undefined;

function openLibc(): Libc | null {
  const names = Deno.build.os === "darwin"
    ? [["libSystem.B.dylib", "__error"]]
    : Deno.build.os === "linux"
    ? [["libc.so.6", "__errno_location"], ["libc.so", "__errno_location"]]
    : [];
  for (const [name, errnoSymbol] of names) {
    try {
      const lib = Deno.dlopen(
        name,
        {
          kill: { parameters: ["i32", "i32"], result: "i32" },
          [errnoSymbol]: { parameters: [], result: "pointer" },
        } as const,
      );
      const errnoAt = lib.symbols[errnoSymbol] as () => Deno.PointerValue;
      return {
        kill: (pid, signal) => lib.symbols.kill(pid, signal) as number,
        errno: () => {
          const p = errnoAt();
          return p ? new Deno.UnsafePointerView(p).getInt32() : -1;
        },
      };
    } catch { /* not this library, or FFI not permitted */ }
  }
  return null;
}

/**
 * true while process `pid` of this host exists, false once it is gone, undefined where this
 * cannot be told. Only ESRCH counts as gone: any other failure says nothing, so a caller never
 * takes a live process for a dead one.
 */
export function pidAlive(pid: number): boolean | undefined {
  if (!Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff) return undefined;
  // Asked first: without the grant Deno would prompt on a terminal rather than refuse.
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
  libc ??= openLibc();
  if (!libc) return undefined;
  if (libc.kill(pid, 0) === 0) return true;
  return libc.errno() === ESRCH ? false : true;
}
