import { assertEquals, assertThrows } from "./assert.ts";
import { taskFlags } from "./task_flags.ts";

Deno.test("taskFlags reads a task's permission flags from deno.json, writes confined", () => {
  const tasks = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url))).tasks;
  const flags = taskFlags("/tmp/x");
  assertEquals(flags.filter((f) => f.startsWith("--allow-write")), ["--allow-write=/tmp/x"]);
  // Every other flag is the task's own, in its order.
  const own = (tasks.xcompare as string).split(/\s+/).filter((w) => w.startsWith("--allow-"));
  assertEquals(
    flags.filter((f) => !f.startsWith("--allow-write")),
    own.filter((f) => !f.startsWith("--allow-write")),
  );
  assertEquals(taskFlags("d", "slurm").at(-1), "--allow-run=sbatch,squeue,sacct,scontrol");
  assertThrows(() => taskFlags("d", "no-such-task"), /deno\.json: no task "no-such-task"/);
});

Deno.test("the doctor and slurm tasks print no Deno notice for a tool that is not installed", async () => {
  // `--allow-run=nvidia-smi` on a host without it makes Deno print "Info Failed to resolve
  // 'nvidia-smi' for allow-run" before the program starts; the tasks run with --quiet.
  const tasks = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url))).tasks;
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/hello.ts`;
    await Deno.writeTextFile(script, 'console.log("hello")');
    for (const task of ["doctor", "slurm"]) {
      const words = (tasks[task] as string).split(/\s+/);
      const flags = words.slice(2, words.indexOf("cli/main.ts"));
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", ...flags, script],
        env: { PATH: dir, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(new TextDecoder().decode(out.stdout), "hello\n", task);
      assertEquals(new TextDecoder().decode(out.stderr), "", task);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
