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
