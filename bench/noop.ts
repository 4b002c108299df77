/**
 * What a no-op `reproduce` costs against `status` on a config whose units are all in the store and
 * whose report is rendered (run `deno task reproduce` first): each as the `xcompare` task runs it,
 * in a subprocess, interleaved round by round, beside a bare `deno run` (Deno's start-up) and a
 * process that only loads the CLI's modules (the npm packages and onnxruntime's native library).
 * Engine overhead = a verb's wall time minus the module-load process's. Prints JSON.
 *
 * deno task bench:noop [--config configs/default.json] [--rounds 5]
 */
import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: { config: { type: "string" }, rounds: { type: "string" } },
});
const config = values.config ?? "configs/default.json";
const rounds = Number(values.rounds ?? 5);
const taskFlags = [
  "--allow-read",
  "--allow-write=artifacts,reports",
  "--allow-ffi",
  "--allow-env",
  "--allow-sys",
];

const commands: Record<string, string[]> = {
  startup: ["run", "data:text/javascript,"],
  load: ["eval", 'await import("./cli/reproduce.ts"); await import("./cli/status.ts");'],
  status: ["run", ...taskFlags, "cli/main.ts", "status", "--config", config],
  reproduce: ["run", ...taskFlags, "cli/main.ts", "reproduce", "--config", config],
};

async function time(name: string): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: commands[name],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${name} failed:\n${text}`);
  if (name === "reproduce" && !text.includes("up to date:")) {
    throw new Error(`reproduce of ${config} is not a no-op here; run it once first:\n${text}`);
  }
  return ms;
}

const samples: Record<string, number[]> = Object.fromEntries(
  Object.keys(commands).map((k) => [k, []]),
);
await time("reproduce"); // warm the file caches and check it is a no-op
for (let r = 0; r < rounds; r++) {
  for (const name of Object.keys(commands)) samples[name].push(await time(name));
}
const median = (xs: number[]) => {
  const s = xs.toSorted((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const m = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, median(xs)]));
const round = (x: number) => Math.round(x);
console.log(JSON.stringify(
  {
    config,
    rounds,
    cpus: navigator.hardwareConcurrency,
    loadavg: Deno.loadavg(),
    median_ms: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, round(v)])),
    reproduce_over_status: Number((m.reproduce / m.status).toFixed(3)),
    engine_ms: { reproduce: round(m.reproduce - m.load), status: round(m.status - m.load) },
    samples_ms: Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, xs.map(round)])),
  },
  null,
  1,
));
