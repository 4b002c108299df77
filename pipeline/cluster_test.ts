import { join } from "node:path";
import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import {
  k8sFinalScript,
  k8sManifest,
  type K8sOptions,
  k8sShardScript,
  planWaves,
  sh,
  slurmScripts,
} from "./cluster.ts";

/** A DAG of xcompare's shape (tests/shard_test.ts plans the real stages). */
const stages = [
  { name: "preprocess", after: [] },
  { name: "infer-baselines", after: ["preprocess"] },
  { name: "mse-search", after: ["preprocess", "infer-baselines"] },
  { name: "subtree-count", after: ["preprocess", "mse-search"] },
  { name: "igos-heatmaps", after: ["preprocess", "infer-baselines"] },
  { name: "cross-test", after: ["preprocess", "infer-baselines", "igos-heatmaps"] },
  { name: "kpca", after: ["infer-baselines", "cross-test"] },
  {
    name: "report",
    after: [
      "preprocess",
      "infer-baselines",
      "mse-search",
      "subtree-count",
      "igos-heatmaps",
      "cross-test",
      "kpca",
    ],
  },
];

const units = {
  preprocess: 4,
  "infer-baselines": 1,
  "mse-search": 3,
  "subtree-count": 3,
  "igos-heatmaps": 3,
  "cross-test": 3,
  kpca: 1,
  report: 1,
};

Deno.test("waves follow DAG depth; arrays sized by units; single-unit tail left to the final", () => {
  const w = planWaves(stages, 3, units);
  assertEquals(w.map((x) => [x.index, x.stages, x.tasks]), [
    [1, ["preprocess"], 3],
    [2, ["infer-baselines"], 1],
    [3, ["mse-search", "igos-heatmaps"], 3],
    [4, ["subtree-count", "cross-test"], 3],
  ]);
  // Without a plan: every stage in a wave of `shards` tasks.
  const all = planWaves(stages, 2, null);
  assertEquals(all.flatMap((x) => x.stages).sort(), stages.map((s) => s.name).sort());
  assert(all.every((x) => x.tasks === 2));
  assertThrows(
    () => planWaves([{ name: "a", after: ["b"] }, { name: "b", after: ["a"] }], 2),
    /cycle/,
  );
  assertThrows(() => planWaves(stages, 0), /shards/);
});

const tmpFile = async (dir: string, name: string, text: string) => {
  const p = join(dir, name);
  await Deno.writeTextFile(p, text);
  await Deno.chmod(p, 0o755);
  return p;
};

const bash = (args: string[], env: Record<string, string> = {}, cwd?: string) =>
  new Deno.Command("bash", { args, env, cwd, stdout: "piped", stderr: "piped" }).output();

Deno.test("slurm scripts: valid bash; submit.sh chains waves and the final job with afterok", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-slurm-" });
  try {
    const waves = planWaves(stages, 3, units);
    const files = slurmScripts({
      config: "configs/my config.json",
      runId: "r1",
      waves,
      workdir: "/proj",
      logDir: join(dir, "logs"),
      partition: "gpu",
      gpusPerTask: 1,
      cpusPerTask: 8,
      time: "24:00:00",
      artifacts: "/shared/store",
    });
    for (const [name, text] of Object.entries(files)) {
      await tmpFile(dir, name, text);
      const r = await bash(["-n", join(dir, name)]);
      assert(r.success, `${name}: ${new TextDecoder().decode(r.stderr)}`);
    }
    const shard = files["shard.sbatch"];
    for (
      const l of [
        "#SBATCH --partition=gpu",
        "#SBATCH --gpus-per-task=1",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --chdir=/proj",
        '--shard "$SLURM_ARRAY_TASK_ID/$tasks"',
        "'configs/my config.json'",
        "XCOMPARE_ARTIFACTS=${XCOMPARE_ARTIFACTS:-/shared/store}",
      ]
    ) assert(shard.includes(l), `shard.sbatch lacks ${l}`);
    assert(
      files["final.sbatch"].includes("reproduce --config 'configs/my config.json' --run-id r1"),
    );

    // A fake sbatch records its arguments and answers job ids 100, 101, ...
    const bin = join(dir, "bin");
    await Deno.mkdir(bin);
    await tmpFile(
      bin,
      "sbatch",
      `#!/usr/bin/env bash\nn=$(wc -l < "${dir}/calls" 2>/dev/null || echo 0)\n` +
        `echo "$*" >> "${dir}/calls"\necho "$((100 + n));cluster"\n`,
    );
    const r = await bash([join(dir, "submit.sh")], { PATH: `${bin}:${Deno.env.get("PATH")}` });
    assert(r.success, new TextDecoder().decode(r.stderr));
    const calls = (await Deno.readTextFile(join(dir, "calls"))).trim().split("\n");
    assertEquals(calls, [
      "--parsable --array=0-2 shard.sbatch 1 3 preprocess",
      "--parsable --dependency=afterok:100 --array=0-0 shard.sbatch 2 1 infer-baselines",
      "--parsable --dependency=afterok:101 --array=0-2 shard.sbatch 3 3 mse-search igos-heatmaps",
      "--parsable --dependency=afterok:102 --array=0-2 shard.sbatch 4 3 subtree-count cross-test",
      "--parsable --dependency=afterok:103 final.sbatch",
    ]);
    assert(new TextDecoder().decode(r.stdout).includes("final: job 104"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const k8sOpts = (over: Partial<K8sOptions> = {}): K8sOptions => ({
  config: "configs/paper.json",
  runId: "Run_1",
  waves: planWaves(stages, 2, units),
  shards: 2,
  image: "registry/xcompare:1",
  pvc: "store",
  workdir: "/app",
  gpusPerTask: 1,
  pollSeconds: 0,
  ...over,
});

Deno.test("k8s manifest: an Indexed Job of N shards and a final Job, hand-written YAML", async () => {
  const y = k8sManifest(k8sOpts());
  for (
    const l of [
      "completionMode: Indexed",
      "completions: 2",
      "parallelism: 2",
      "name: xcompare-run-1-shards",
      "name: xcompare-run-1-final",
      'image: "registry/xcompare:1"',
      'claimName: "store"',
      "nvidia.com/gpu: 1",
      'mountPath: "/app/artifacts"',
      "i=$JOB_COMPLETION_INDEX n=2",
    ]
  ) assert(y.includes(l), `manifest lacks ${l}`);
  assertEquals(y.split("\n---\n").length, 2);
  assert(!/\t/.test(y), "tabs in YAML");
  // Where PyYAML exists, the documents must parse into the intended structure.
  const py = await new Deno.Command("python3", {
    args: [
      "-c",
      "import sys, json, yaml; print(json.dumps(list(yaml.safe_load_all(sys.stdin))))",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = py.stdin.getWriter();
  await w.write(new TextEncoder().encode(y));
  await w.close();
  const out = await py.output();
  if (out.success) {
    const [jobs, final] = JSON.parse(new TextDecoder().decode(out.stdout));
    assertEquals(jobs.spec.completionMode, "Indexed");
    const c = jobs.spec.template.spec.containers[0];
    assertEquals(c.args[0], k8sShardScript(k8sOpts()) + "\n");
    assertEquals(final.spec.template.spec.containers[0].args[0], k8sFinalScript(k8sOpts()) + "\n");
  } else console.warn("cluster_test: PyYAML unavailable; YAML checked by text only");
});

Deno.test("k8s scripts: every pod runs every wave behind a barrier; the final waits", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-k8s-" });
  try {
    const bin = join(dir, "bin");
    await Deno.mkdir(bin);
    // A fake deno that records the reproduce calls.
    await tmpFile(bin, "deno", `#!/usr/bin/env bash\necho "$*" >> "${dir}/calls"\n`);
    const env = { PATH: `${bin}:${Deno.env.get("PATH")}`, XCOMPARE_ARTIFACTS: join(dir, "a") };
    const o = k8sOpts();
    const pods = [0, 1].map((i) =>
      bash(["-c", k8sShardScript(o)], { ...env, JOB_COMPLETION_INDEX: String(i) })
    );
    const final = bash(["-c", k8sFinalScript(o)], env);
    for (const r of await Promise.all([...pods, final])) {
      assert(r.success, new TextDecoder().decode(r.stderr));
    }
    const calls = (await Deno.readTextFile(join(dir, "calls"))).trim().split("\n");
    // Waves with 2 tasks run on both pods, infer-baselines (1 unit) on pod 0 only; final last.
    assertEquals(calls.length, 2 + 1 + 2 + 2 + 1);
    assert(calls.includes(
      "task xcompare reproduce --config configs/paper.json --shard 1/2 --only mse-search --only igos-heatmaps --run-id Run_1-w3",
    ));
    assertEquals(
      calls.at(-1),
      "task xcompare reproduce --config configs/paper.json --run-id Run_1",
    );
    // A failed shard stops the others instead of leaving them at the barrier.
    await tmpFile(bin, "deno", "#!/usr/bin/env bash\nexit 3\n");
    const failed = await bash(["-c", k8sShardScript(k8sOpts({ runId: "r2" }))], {
      ...env,
      JOB_COMPLETION_INDEX: "0",
    });
    assert(!failed.success);
    const other = await bash(["-c", k8sShardScript(k8sOpts({ runId: "r2" }))], {
      ...env,
      JOB_COMPLETION_INDEX: "1",
    });
    assert(!other.success, "the other pod kept waiting or succeeded");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sh quotes only what needs it", () => {
  assertEquals(sh("configs/paper.json"), "configs/paper.json");
  assertEquals(sh("a b"), "'a b'");
  assertEquals(sh("it's"), `'it'\\''s'`);
});
