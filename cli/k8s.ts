/**
 * `xcompare k8s`: writes the sharded run's Kubernetes Jobs, one per wave plus the final one, and
 * run.sh, which applies them one after the other with kubectl (pipeline/k8s_jobs.ts).
 */
import { join, resolve } from "node:path";
import { countFlag, intFlag, UsageError, type Values } from "./args.ts";
import { configPathOf, overrides, REPORTS } from "./app.ts";
import { newClusterRun, writeJobFile } from "./jobs.ts";
import { defaultRequiredProvider, timeSeconds } from "../pipeline/cluster.ts";
import { claimMount, k8sDefaults, k8sFiles, type K8sOptions } from "../pipeline/k8s_jobs.ts";

export async function k8sVerb(values: Values): Promise<number> {
  if (values.shards === undefined) throw new UsageError("xcompare k8s: --shards N is required");
  const shards = intFlag(values, "shards", 1);
  const configPath = configPathOf(values);
  const { waves, runId } = await newClusterRun(values, configPath, shards);
  const gpus = countFlag(values, "gpus-per-task", k8sDefaults.gpusPerTask);
  const provider = values["require-provider"] as string | undefined;
  const o: K8sOptions = {
    config: configPath,
    runId,
    waves,
    requireProvider: provider === "none" ? undefined : provider ?? defaultRequiredProvider(gpus),
    image: (values.image as string) ?? k8sDefaults.image,
    workdir: k8sDefaults.workdir,
    store: (values.pvc as string) ?? k8sDefaults.store,
    data: claimMount((values["data-pvc"] as string) ?? k8sDefaults.data, "data-pvc"),
    models: claimMount((values["models-pvc"] as string) ?? k8sDefaults.models, "models-pvc"),
    gpusPerTask: gpus,
    cpusPerTask: intFlag(values, "cpus-per-task", k8sDefaults.cpusPerTask),
    mem: (values.mem as string) ?? k8sDefaults.mem,
    deadlineSeconds: timeSeconds((values.time as string) ?? k8sDefaults.time),
    retries: countFlag(values, "retries", k8sDefaults.retries),
    graceSeconds: k8sDefaults.graceSeconds,
  };
  if (overrides.artifacts || overrides.reports) {
    console.error(
      `xcompare k8s: XCOMPARE_ARTIFACTS/XCOMPARE_REPORTS are not passed to the pods: they use ` +
        `the claim ${o.store} mounted at ${o.workdir}/artifacts and ${o.workdir}/reports`,
    );
  }
  const out = resolve((values.out as string) ?? join(REPORTS, "k8s", runId));
  await Deno.mkdir(out, { recursive: true }).catch((e) => {
    throw new Error(`${out}: cannot create (${(e as Error).message})`);
  });
  const files = k8sFiles(o);
  for (const [f, text] of Object.entries(files)) {
    await writeJobFile(join(out, f), text, f.endsWith(".sh") ? 0o755 : undefined);
  }
  console.log(`run ${runId}: wrote ${Object.keys(files).join(", ")} to ${out}`);
  for (const w of waves) {
    console.log(`  wave ${w.index}: ${w.stages.join(", ")} (an Indexed Job of ${w.tasks} pod(s))`);
  }
  console.log(
    `  volumes: store ${o.store} (ReadWriteMany)${
      o.data ? `, data ${o.data.claim} at ${o.data.path}` : ""
    }${o.models ? `, models ${o.models.claim} at ${o.models.path}` : ""}`,
  );
  if (o.requireProvider) console.log(`  every pod requires the ${o.requireProvider} provider`);
  console.log(`run with: ${join(out, "run.sh")}  (kubectl; run it again to resume)`);
  return 0;
}
