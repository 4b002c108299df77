/**
 * The Kubernetes jobs of a sharded run (pure: options in, YAML and a driver script out;
 * cli/k8s.ts writes them). One Indexed Job per wave and a final Job, applied one after the other
 * by run.sh (kubectl on the user's machine), so no pod ever waits for another: Jobs are not
 * gang-scheduled, and a barrier inside pods deadlocked when not all of them could run at once.
 *
 * Each wave's Job retries an index on its own (`backoffLimitPerIndex`) and ends by
 * `activeDeadlineSeconds`; its pod failure policy fails an index at once when `wave-check` found
 * the upstream incomplete (exit 3: a retry cannot help) and does not count an eviction or
 * preemption (condition DisruptionTarget) as a failure, so the pod is replaced. Pods get cpu,
 * memory and GPU requests and limits, SIGTERM 120 s before a kill (the runner finishes or abandons
 * its unit and releases the lock), and PersistentVolumeClaims: the shared store and reports, the
 * data and the models (read-only).
 *
 * The objects are typed with the Job schema of kubernetes-models (generated from the Kubernetes
 * OpenAPI spec), so `deno check` rejects a misspelt or misplaced field; the tests validate the
 * written YAML against the same schema.
 */
import { stringify } from "yaml";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import type { IPodFailurePolicyRule } from "kubernetes-models/batch/v1/PodFailurePolicyRule";
import {
  type ClusterJob,
  providerArgs,
  sh,
  UPSTREAM_MISSING,
  type Wave,
  waveCheckCommand,
} from "./cluster.ts";

/** A PersistentVolumeClaim mounted at `path` (relative to the workdir). */
export interface ClaimMount {
  claim: string;
  path: string;
}

export interface K8sOptions extends ClusterJob {
  image: string;
  /** Project root inside the image. */
  workdir: string;
  /** The shared store and reports (ReadWriteMany): `artifacts/` and `reports/` sub-paths. */
  store: string;
  /** The dataset and the models, mounted read-only where the config expects them; unset: none. */
  data?: ClaimMount;
  models?: ClaimMount;
  gpusPerTask: number;
  cpusPerTask: number;
  /** Memory per pod, a Kubernetes quantity (`16Gi`). */
  mem: string;
  /** activeDeadlineSeconds of every Job. */
  deadlineSeconds: number;
  /** backoffLimitPerIndex of the wave Jobs, backoffLimit of the final one. */
  retries: number;
  /** terminationGracePeriodSeconds: SIGTERM comes this long before SIGKILL. */
  graceSeconds: number;
}

export const k8sDefaults = {
  image: "xcompare:latest",
  workdir: "/app",
  store: "xcompare-store",
  data: "xcompare-data:data/imagenet",
  models: "xcompare-models:models",
  gpusPerTask: 1,
  cpusPerTask: 4,
  mem: "16Gi",
  time: "24:00:00",
  retries: 2,
  graceSeconds: 120,
};

/** `claim:path`, or `none` for no volume. */
export function claimMount(flag: string, name: string): ClaimMount | undefined {
  if (flag === "none") return undefined;
  const m = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?):([^:]+)$/.exec(flag);
  if (!m) throw new Error(`--${name} "${flag}": expected <claim>:<path in the project> or none`);
  return { claim: m[1], path: m[3] };
}

/** Kubernetes object names: lower-case alphanumerics and '-'; short enough for pod hostnames. */
export function k8sName(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 50)
    .replace(/-+$/, "") || "xcompare";
}

/** The Job names of a run: one per wave, and the final one. */
export function k8sJobName(runId: string, wave: number | "final"): string {
  return `${k8sName(`xcompare-${runId}`)}-${wave === "final" ? "final" : `w${wave}`}`;
}

/** A wave pod: check the earlier waves, then `exec` its shard, so SIGTERM reaches deno. */
export function k8sWaveScript(o: K8sOptions, w: Wave): string {
  return [
    "set -euo pipefail",
    `deno ${waveCheckCommand(o, String(w.index))}`,
    [
      "exec deno task xcompare reproduce --config",
      sh(o.config),
      `--shard "$JOB_COMPLETION_INDEX/${w.tasks}"`,
      ...w.stages.map((s) => `--only ${sh(s)}`),
      "--run-id",
      sh(`${o.runId}-w${w.index}`),
      ...providerArgs(o),
    ].join(" "),
  ].join("\n");
}

/** The final pod: check every wave, then the plain reproduce that renders the report. */
export function k8sFinalScript(o: K8sOptions): string {
  return [
    "set -euo pipefail",
    `deno ${waveCheckCommand(o, "final")}`,
    [
      "exec deno task xcompare reproduce --config",
      sh(o.config),
      "--run-id",
      sh(o.runId),
      ...providerArgs(o),
    ].join(" "),
  ].join("\n");
}

function labels(o: K8sOptions, wave: number | "final"): Record<string, string> {
  return {
    "app.kubernetes.io/name": "xcompare",
    "xcompare/run": k8sName(o.runId),
    "xcompare/wave": String(wave),
  };
}

function podSpec(o: K8sOptions, script: string): IPodSpec {
  const resources: Record<string, string> = {
    cpu: String(o.cpusPerTask),
    memory: o.mem,
    ...(o.gpusPerTask > 0 ? { "nvidia.com/gpu": String(o.gpusPerTask) } : {}),
  };
  const readOnly = [["data", o.data], ["models", o.models]] as const;
  return {
    restartPolicy: "Never",
    terminationGracePeriodSeconds: o.graceSeconds,
    volumes: [
      { name: "store", persistentVolumeClaim: { claimName: o.store } },
      ...readOnly.flatMap(([name, m]) =>
        m ? [{ name, persistentVolumeClaim: { claimName: m.claim, readOnly: true } }] : []
      ),
    ],
    containers: [{
      name: "xcompare",
      image: o.image,
      workingDir: o.workdir,
      command: ["bash", "-c", script],
      // No XCOMPARE_ARTIFACTS/REPORTS: a workstation's paths mean nothing in the pod, whose store
      // and reports are the claim mounted where the task's flags let it write.
      // Requests equal to limits: the pods are Guaranteed, the last to be evicted under pressure.
      resources: { requests: resources, limits: resources },
      volumeMounts: [
        { name: "store", mountPath: `${o.workdir}/artifacts`, subPath: "artifacts" },
        { name: "store", mountPath: `${o.workdir}/reports`, subPath: "reports" },
        ...readOnly.flatMap(([name, m]) =>
          m ? [{ name, mountPath: `${o.workdir}/${m.path}`, readOnly: true }] : []
        ),
      ],
    }],
  };
}

/** An eviction or preemption is not the pod's fault: replace it without counting a failure. */
const disruption: IPodFailurePolicyRule = {
  action: "Ignore",
  onPodConditions: [{ type: "DisruptionTarget", status: "True" }],
};

/** The Indexed Job of one wave: one pod per shard, each retried on its own. */
export function k8sWaveJob(o: K8sOptions, w: Wave): IJob {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: k8sJobName(o.runId, w.index), labels: labels(o, w.index) },
    spec: {
      completionMode: "Indexed",
      completions: w.tasks,
      parallelism: w.tasks,
      backoffLimitPerIndex: o.retries,
      activeDeadlineSeconds: o.deadlineSeconds,
      podFailurePolicy: {
        rules: [
          {
            action: "FailIndex",
            onExitCodes: {
              containerName: "xcompare",
              operator: "In",
              values: [UPSTREAM_MISSING],
            },
          },
          disruption,
        ],
      },
      template: {
        metadata: { labels: labels(o, w.index) },
        spec: podSpec(o, k8sWaveScript(o, w)),
      },
    },
  };
}

/** The final Job: the remaining single-unit stages and the report. */
export function k8sFinalJob(o: K8sOptions): IJob {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: k8sJobName(o.runId, "final"), labels: labels(o, "final") },
    spec: {
      completions: 1,
      parallelism: 1,
      backoffLimit: o.retries,
      activeDeadlineSeconds: o.deadlineSeconds,
      podFailurePolicy: {
        rules: [
          {
            action: "FailJob",
            onExitCodes: {
              containerName: "xcompare",
              operator: "In",
              values: [UPSTREAM_MISSING],
            },
          },
          disruption,
        ],
      },
      template: {
        metadata: { labels: labels(o, "final") },
        spec: podSpec(o, k8sFinalScript(o)),
      },
    },
  };
}

/**
 * run.sh: applies each wave's Job once the previous one is Complete, then the final Job; stops
 * at a Failed Job, naming its failed indexes and showing its pods' last log lines. Run again, it
 * skips Complete Jobs and replaces Failed ones, whose pods reuse every unit already stored.
 */
export function k8sDriver(o: K8sOptions, files: readonly { job: string; file: string }[]): string {
  return [
    "#!/usr/bin/env bash",
    `# Runs xcompare run ${o.runId} on Kubernetes: one Job per wave, each applied once the previous`,
    "# one is Complete, then the final Job. Stops at a Failed Job. Run it again to resume.",
    "# KUBECTL overrides the kubectl command (e.g. 'kubectl -n research'); XCOMPARE_POLL_SECONDS",
    "# the polling interval (default 10).",
    "set -uo pipefail",
    'cd "$(dirname "$0")"',
    "kubectl=${KUBECTL:-kubectl}",
    "poll=${XCOMPARE_POLL_SECONDS:-10}",
    "",
    "# Complete or Failed once the Job has ended; empty while it runs or when it does not exist.",
    "state() {",
    `  $kubectl get job "$1" -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{"\\n"}{end}' \\`,
    "    2>/dev/null | grep -E -m1 '^(Complete|Failed)$' || true",
    "}",
    "",
    "run_job() {",
    "  local name=$1 file=$2 s",
    '  s=$(state "$name")',
    '  if [ "$s" = Complete ]; then echo "$name: complete (from an earlier run)"; return 0; fi',
    '  if [ "$s" = Failed ]; then',
    '    echo "$name: failed earlier; replacing it"',
    '    $kubectl delete job "$name" --wait=true >/dev/null || return 1',
    "  fi",
    '  $kubectl apply -f "$file" >/dev/null || return 1',
    '  echo "$name: applied, waiting for it"',
    "  while :; do",
    '    s=$(state "$name")',
    '    if [ "$s" = Complete ]; then echo "$name: complete"; return 0; fi',
    '    if [ "$s" = Failed ]; then',
    `      echo "$name: FAILED ($($kubectl get job "$name" -o jsonpath='{.status.conditions[?(@.type=="Failed")].reason}')); failed indexes: $($kubectl get job "$name" -o jsonpath='{.status.failedIndexes}')" >&2`,
    '      $kubectl logs -l "batch.kubernetes.io/job-name=$name" --prefix --tail=20 >&2 || true',
    `      echo "fix the cause, then run $0 again: complete Jobs are kept, failed ones replaced" >&2`,
    "      return 1",
    "    fi",
    '    sleep "$poll"',
    "  done",
    "}",
    "",
    ...files.map((f) => `run_job ${f.job} ${sh(f.file)} || exit 1`),
    `echo "run ${o.runId}: done; the report is in reports/${o.runId}/ on the store volume"`,
    "",
  ].join("\n");
}

/** Every file of the run: `wave-<k>.yaml`, `final.yaml` and `run.sh`. */
export function k8sFiles(o: K8sOptions): Record<string, string> {
  const yaml = (job: IJob, what: string) =>
    `# xcompare run ${o.runId}: ${what}. Applied by run.sh, after the previous Job completed.\n` +
    stringify(job, { lineWidth: 0, aliasDuplicateObjects: false });
  const out: Record<string, string> = {};
  const order: { job: string; file: string }[] = [];
  for (const w of o.waves) {
    const file = `wave-${w.index}.yaml`;
    out[file] = yaml(
      k8sWaveJob(o, w),
      `wave ${w.index} (${w.stages.join(", ")}), ${w.tasks} shard pod(s)`,
    );
    order.push({ job: k8sJobName(o.runId, w.index), file });
  }
  out["final.yaml"] = yaml(k8sFinalJob(o), "the final Job (remaining stages and the report)");
  order.push({ job: k8sJobName(o.runId, "final"), file: "final.yaml" });
  out["run.sh"] = k8sDriver(o, order);
  return out;
}
