import { join } from "node:path";
import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import { parseThroughput } from "../cli/throughput.ts";
import { type GradBench, type ScorerBench, throughputFile } from "./gpu_throughput.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const cuda = { ortVersion: "1.30.0", provider: "cuda" as const };
const models = [
  { id: "a", onnx: "zoo/models/a.onnx" },
  { id: "b", onnx: "zoo/models/b.onnx" },
  { id: "c", onnx: "zoo/models/c.onnx" },
];
const scorer: ScorerBench = {
  runtime: cuda,
  results: [
    {
      model: `${ROOT}zoo/models/a.onnx`,
      batchSize: 128,
      scorerMasksPerSecond: 9000,
      rawMasksPerSecond: 8000,
    },
    {
      model: "zoo/models/b.onnx",
      batchSize: 128,
      scorerMasksPerSecond: 3000,
      rawMasksPerSecond: 2500,
    },
    { model: "zoo/models/c.onnx", error: "out of memory" },
    { model: "elsewhere/d.onnx", batchSize: 128, scorerMasksPerSecond: 1, rawMasksPerSecond: 1 },
  ],
};
const grad = (model: string, ratio: number, provider = "cuda"): GradBench => ({
  model,
  provider: provider as "cuda",
  batch: 256,
  forwardMsPerImage: 0.01,
  gradMsPerImage: 0.01 * ratio,
  ratio,
  medianRoundRatio: ratio,
});

Deno.test("the throughput file: measured rates by model id, their median as default, plan reads it", () => {
  const file = throughputFile({
    models,
    provider: "cuda",
    device: "1x NVIDIA H100",
    scorer,
    grad: [grad("a", 2), grad("b", 4), grad("c", 3.5), { model: "x", error: "bad" }],
    dag: {
      runId: "gpu-bench-1",
      config: "configs/default.json",
      runtime: cuda,
      summaries: [{
        stage: "mse-search",
        computed: 16,
        reused: 0,
        wallSeconds: 10,
        counters: { modelEvals: 50000 },
      }],
    },
    root: ROOT,
  });
  const parsed = parseThroughput(JSON.parse(JSON.stringify(file)), "throughput.json");
  // c failed and d is not in the config: neither gets a rate; c takes the default.
  assertEquals(parsed, {
    device: "1x NVIDIA H100 (cuda, measured)",
    rates: { a: 9000, b: 3000 },
    default: 6000,
    gradientCost: 3.5,
  });
  assert(/default = their median, used for c/.test(file["//"] as string));
  const notes = file.notes as { dag: { stages: { modelEvalsPerSecond: number }[] } };
  assertEquals(notes.dag.stages[0].modelEvalsPerSecond, 5000);
});

Deno.test("the throughput file refuses numbers from another provider than the one named", () => {
  const base = { models, provider: "cuda" as const, device: "gpu", scorer, grad: [], root: ROOT };
  assertThrows(
    () => throughputFile({ ...base, scorer: { ...scorer, runtime: { ...cuda, provider: "cpu" } } }),
    /scorer benchmark: ran on cpu, not cuda/,
  );
  assertThrows(
    () => throughputFile({ ...base, grad: [grad("a", 2, "cpu")] }),
    /gradient benchmark: a ran on cpu, not cuda/,
  );
  assertThrows(
    () => throughputFile({ ...base, scorer: { runtime: cuda, results: [scorer.results[2]] } }),
    /no model of the config was measured \(zoo\/models\/c\.onnx: out of memory\)/,
  );
});

Deno.test({
  name: "bench/gpu.sh end to end with the CPU standing in for the GPU (benchmarks, file, plan)",
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "gpu-standin-" });
    try {
      const r = await new Deno.Command("bash", {
        args: ["bench/gpu.sh"],
        cwd: ROOT,
        env: {
          DENO: Deno.execPath(),
          PROVIDER: "cpu",
          DAG: "0",
          ROUNDS: "1",
          SECONDS_PER_ROUND: "0.05",
          MODELS: "zoo/models/cnn-bn.onnx",
          OUT: out,
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(r.stderr);
      assert(r.success, err.slice(-3000));
      const file = parseThroughput(
        JSON.parse(await Deno.readTextFile(join(out, "throughput.json"))),
        "throughput.json",
      );
      assertEquals(Object.keys(file.rates), ["cnn-bn"]);
      assert(file.rates["cnn-bn"] > 0 && file.default === Math.round(file.rates["cnn-bn"]));
      assert(file.gradientCost! > 0, "gradient cost measured");
      assert(/^CPU, \d+ cores \(cpu, measured\)$/.test(file.device), file.device);
      const plan = await Deno.readTextFile(join(out, "plan.txt"));
      assert(/hours on CPU, \d+ cores \(cpu, measured\)/.test(plan), plan);
      assert(/cnn-bn .* \(file\)/.test(plan) && /vit-ln .* \(file default\)/.test(plan), plan);
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
