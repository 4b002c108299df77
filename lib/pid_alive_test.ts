import { assertEquals } from "../tests/assert.ts";
import { taskFlags } from "../tests/task_flags.ts";
import { pidAlive } from "./pid_alive.ts";

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), { args: ["--version"], stdout: "null" }).spawn();
  await child.status;
  return child.pid;
}

Deno.test("a running process is alive, an exited one is not, a pid that cannot be one is unknown", async () => {
  if (Deno.build.os === "windows") return;
  assertEquals(pidAlive(Deno.pid), true);
  assertEquals(pidAlive(await deadPid()), false);
  for (const pid of [0, -1, 1.5, 2 ** 31]) assertEquals(pidAlive(pid), undefined, `${pid}`);
});

Deno.test("the answer holds under the xcompare task's flags (no --allow-run, no /proc)", async () => {
  if (Deno.build.os === "windows") return;
  const dir = await Deno.makeTempDir();
  try {
    const dead = await deadPid();
    const script = `import { pidAlive } from ${
      JSON.stringify(import.meta.resolve("./pid_alive.ts"))
    };
console.log(JSON.stringify([pidAlive(Deno.pid), pidAlive(${dead})]));`;
    const file = `${dir}/probe.ts`;
    await Deno.writeTextFile(file, script);
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...taskFlags(dir), file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    assertEquals(r.code, 0, text);
    assertEquals(JSON.parse(text), [true, false]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
