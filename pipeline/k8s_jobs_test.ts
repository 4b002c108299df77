/**
 * The Kubernetes writers without a cluster: every Job validated against the batch/v1 Job schema
 * that kubernetes-models generates from the Kubernetes OpenAPI spec (v1.36), the pod scripts run
 * with a fake deno, and run.sh driven by a fake kubectl. What only a real cluster shows (GPU
 * scheduling, PVC binding, evictions) is not covered here; see the README's cluster section.
 */
import { join } from "node:path";
import { parse } from "yaml";
import { Job } from "kubernetes-models/batch/v1/Job";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import { stages, units } from "../tests/fixtures/cluster_dag.ts";
import { planWaves } from "./cluster.ts";
import {
  claimMount,
  k8sDefaults,
  k8sFiles,
  k8sFinalJob,
  k8sJobName,
  type K8sOptions,
  k8sWaveJob,
  k8sWaveScript,
} from "./k8s_jobs.ts";

const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const opts = (over: Partial<K8sOptions> = {}): K8sOptions => ({
  config: "configs/paper.json",
  runId: "Run_1",
  waves: planWaves(stages, 3, units),
  image: "registry/xcompare:1",
  workdir: "/app",
  store: "store",
  data: claimMount(k8sDefaults.data, "data-pvc"),
  models: claimMount(k8sDefaults.models, "models-pvc"),
  gpusPerTask: 1,
  cpusPerTask: 4,
  mem: "16Gi",
  deadlineSeconds: 86400,
  retries: 2,
  graceSeconds: 120,
  requireProvider: "cuda",
  ...over,
});

/** The schema's verdict: the validator's messages, or [] when valid. */
function schemaErrors(doc: unknown): string[] {
  try {
    new Job(doc as IJob).validate();
    return [];
  } catch (e) {
    return [(e as Error).message];
  }
}

Deno.test("k8s: one Indexed Job per wave and a final Job, valid against the batch/v1 Job schema", () => {
  const o = opts();
  const files = k8sFiles(o);
  assertEquals(Object.keys(files), [
    "wave-1.yaml",
    "wave-2.yaml",
    "wave-3.yaml",
    "wave-4.yaml",
    "final.yaml",
    "run.sh",
  ]);
  for (const w of o.waves) {
    const doc = parse(files[`wave-${w.index}.yaml`]);
    assertEquals(schemaErrors(doc), [], `wave-${w.index}.yaml`);
    assertEquals(doc, k8sWaveJob(o, w), "the YAML does not read back as the object written");
    const spec = doc.spec;
    assertEquals(doc.metadata.name, `xcompare-run-1-w${w.index}`);
    assertEquals(
      [spec.completionMode, spec.completions, spec.parallelism],
      ["Indexed", w.tasks, w.tasks],
    );
    assertEquals([spec.backoffLimitPerIndex, spec.activeDeadlineSeconds], [2, 86400]);
    assertEquals(spec.podFailurePolicy.rules, [
      {
        action: "FailIndex",
        onExitCodes: { containerName: "xcompare", operator: "In", values: [3] },
      },
      { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
    ]);
    const pod = spec.template.spec;
    assertEquals([pod.restartPolicy, pod.terminationGracePeriodSeconds], ["Never", 120]);
    const c = pod.containers[0];
    const want = { cpu: "4", memory: "16Gi", "nvidia.com/gpu": "1" };
    assertEquals(c.resources, { requests: want, limits: want });
    assertEquals(pod.volumes, [
      { name: "store", persistentVolumeClaim: { claimName: "store" } },
      { name: "data", persistentVolumeClaim: { claimName: "xcompare-data", readOnly: true } },
      { name: "models", persistentVolumeClaim: { claimName: "xcompare-models", readOnly: true } },
    ]);
    assertEquals(c.volumeMounts.map((m: { mountPath: string }) => m.mountPath), [
      "/app/artifacts",
      "/app/reports",
      "/app/data/imagenet",
      "/app/models",
    ]);
    // No pod waits for another: no barrier, no polling.
    assert(!/\b(sleep|until|barrier)\b/.test(c.command[2]), c.command[2]);
  }
  const final = parse(files["final.yaml"]);
  assertEquals(schemaErrors(final), [], "final.yaml");
  assertEquals(final, k8sFinalJob(o));
  assertEquals(final.spec.completions, 1);
  assertEquals(final.spec.podFailurePolicy.rules[0].action, "FailJob");
  assert(final.spec.template.spec.containers[0].command[2].includes("--wave final"));
  // Same GPU as the shards: the runtime enters the cache keys, so the final job must key alike.
  assertEquals(final.spec.template.spec.containers[0].resources.limits["nvidia.com/gpu"], "1");
});

Deno.test("the schema check is real: broken Jobs are rejected", () => {
  const good = parse(k8sFiles(opts())["wave-1.yaml"]);
  const broken = (edit: (j: IJob) => void) => {
    const j = structuredClone(good);
    edit(j);
    return schemaErrors(j);
  };
  assertEquals(schemaErrors(good), []);
  assert(broken((j) => (j.spec!.completionMode = "indexed" as "Indexed")).length > 0);
  assert(broken((j) => (j.spec!.backoffLimitPerIndex = "2" as unknown as number)).length > 0);
  assert(
    broken((j) => delete (j.spec!.template.spec!.containers[0] as { name?: string }).name)
      .length > 0,
  );
  assert(
    broken((j) => (j.spec!.podFailurePolicy!.rules[0].action = "Retry" as "FailIndex")).length > 0,
  );
});

Deno.test("k8s options: no GPU, no data or models volume, long run ids", () => {
  const o = opts({
    gpusPerTask: 0,
    data: claimMount("none", "data-pvc"),
    models: undefined,
    requireProvider: undefined,
    runId: "a".repeat(60),
  });
  const job = k8sWaveJob(o, o.waves[0]);
  assertEquals(schemaErrors(job), []);
  const c = job.spec!.template.spec!.containers[0];
  assertEquals(c.resources!.limits, { cpu: "4", memory: "16Gi" });
  assertEquals(job.spec!.template.spec!.volumes!.map((v) => v.name), ["store"]);
  assert(!c.command![2].includes("--require-provider"));
  for (const w of [1, 4, "final"] as const) {
    const name = k8sJobName(o.runId, w);
    assert(name.length <= 56 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name), name);
  }
  assertThrows(() => claimMount("Data:x", "data-pvc"), /--data-pvc "Data:x"/);
  assertEquals(claimMount("imagenet:data/val", "data-pvc"), {
    claim: "imagenet",
    path: "data/val",
  });
});

const tmpFile = async (dir: string, name: string, text: string) => {
  const p = join(dir, name);
  await Deno.writeTextFile(p, text);
  await Deno.chmod(p, 0o755);
  return p;
};

Deno.test("a wave pod checks the earlier waves, then execs its shard; a failed check exits 3", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-k8s-" });
  try {
    const bin = join(dir, "bin");
    await Deno.mkdir(bin);
    await tmpFile(
      bin,
      "deno",
      `#!/usr/bin/env bash\necho "$*" >> "${dir}/calls"\n` +
        `case "$*" in *wave-check*) exit "\${CHECK_EXIT:-0}" ;; esac\n`,
    );
    const o = opts();
    const script = k8sWaveScript(o, o.waves[2]);
    const env = { PATH: `${bin}:${Deno.env.get("PATH")}`, JOB_COMPLETION_INDEX: "1" };
    const run = (extra: Record<string, string> = {}) =>
      new Deno.Command("bash", {
        args: ["-c", script],
        env: { ...env, ...extra },
        stdout: "piped",
        stderr: "piped",
      }).output();
    const r = await run();
    assert(r.success, dec(r.stderr));
    const calls = (await Deno.readTextFile(join(dir, "calls"))).trim().split("\n");
    assertEquals(calls.length, 2);
    assert(
      calls[0].startsWith("task xcompare wave-check --config configs/paper.json --run-id Run_1"),
    );
    assert(calls[0].endsWith("--wave 3"), calls[0]);
    assertEquals(
      calls[1],
      "task xcompare reproduce --config configs/paper.json --shard 1/3 --only mse-search " +
        "--only igos-heatmaps --run-id Run_1-w3 --require-provider cuda",
    );
    assert(script.includes("exec deno task xcompare reproduce"), "SIGTERM would stop at bash");
    await Deno.remove(join(dir, "calls"));
    const failed = await run({ CHECK_EXIT: "3" });
    assertEquals(failed.code, 3);
    assertEquals((await Deno.readTextFile(join(dir, "calls"))).trim().split("\n").length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * A fake kubectl over a folder of Job states: `apply` starts a Job (Failed if its name is in
 * $FAIL_JOBS, else Complete, reported one `get` later), `get` reads it, `delete` removes it.
 */
const fakeKubectl = (state: string) =>
  `#!/usr/bin/env bash
echo "$*" >> "${state}/calls"
case "$1" in
apply)
  name=$(grep -m1 '^  name:' "$3" | awk '{print $2}')
  if [[ " \${FAIL_JOBS:-} " == *" $name "* ]]; then end=Failed; else end=Complete; fi
  echo "Running:$end" > "${state}/$name" ;;
get)
  f="${state}/$3"
  [ -f "$f" ] || { echo "jobs.batch \\"$3\\" not found" >&2; exit 1; }
  s=$(cat "$f")
  case "$*" in
  *failedIndexes*) echo "1" ;;
  *reason*) echo "FailedIndexes" ;;
  *) if [[ $s == Running:* ]]; then echo "\${s#Running:}" > "$f"; else echo "$s"; fi ;;
  esac ;;
delete) rm -f "${state}/$3" ;;
logs) echo "[pod/$2] wave-check: 2 unit(s) missing" ;;
esac
`;

Deno.test("run.sh applies one wave at a time, stops at a failed Job naming it, and resumes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "xcompare-k8s-" });
  try {
    const o = opts({ runId: "r1" });
    for (const [f, text] of Object.entries(k8sFiles(o))) await tmpFile(dir, f, text);
    const state = join(dir, "state");
    await Deno.mkdir(state);
    const kubectl = await tmpFile(dir, "kubectl", fakeKubectl(state));
    const drive = (fail: string) =>
      new Deno.Command("bash", {
        args: [join(dir, "run.sh")],
        env: {
          KUBECTL: kubectl,
          XCOMPARE_POLL_SECONDS: "0",
          FAIL_JOBS: fail,
          PATH: Deno.env.get("PATH")!,
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
    const applied = async () =>
      (await Deno.readTextFile(join(state, "calls"))).split("\n")
        .filter((l) => /^(apply|delete)/.test(l)).map((l) => l.replace(dir + "/", ""));

    const first = await drive("xcompare-r1-w3");
    assertEquals(first.code, 1, dec(first.stdout) + dec(first.stderr));
    assertEquals(await applied(), [
      "apply -f wave-1.yaml",
      "apply -f wave-2.yaml",
      "apply -f wave-3.yaml",
    ]);
    const err = dec(first.stderr);
    assert(err.includes("xcompare-r1-w3: FAILED (FailedIndexes); failed indexes: 1"), err);
    assert(err.includes("wave-check: 2 unit(s) missing"), err);

    await Deno.writeTextFile(join(state, "calls"), "");
    const second = await drive("");
    assertEquals(second.code, 0, dec(second.stdout) + dec(second.stderr));
    assert(dec(second.stdout).includes("xcompare-r1-w1: complete (from an earlier run)"));
    assertEquals(await applied(), [
      "delete job xcompare-r1-w3 --wait=true",
      "apply -f wave-3.yaml",
      "apply -f wave-4.yaml",
      "apply -f final.yaml",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("k8s pods never get the workstation's store or reports paths", () => {
  const files = k8sFiles(opts({ artifacts: "/home/me/artifacts", reports: "/home/me/reports" }));
  for (const [f, text] of Object.entries(files)) {
    assert(!text.includes("/home/me"), `${f} carries a workstation path`);
    assert(!text.includes("XCOMPARE_ARTIFACTS"), f);
  }
});
