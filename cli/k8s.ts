/** `xcompare k8s`: prints (or writes with `--out`) the sharded run's Kubernetes manifest. */
import { intFlag, UsageError, type Values } from "./args.ts";
import { configPathOf, overrides } from "./app.ts";
import { wavesFor, writeJobFile } from "./jobs.ts";
import { k8sDefaults, k8sManifest } from "../pipeline/cluster.ts";

export async function k8sVerb(values: Values): Promise<number> {
  if (values.shards === undefined) throw new UsageError("xcompare k8s: --shards N is required");
  const shards = intFlag(values, "shards", 1);
  const configPath = configPathOf(values);
  const { waves, runId: newId } = await wavesFor(configPath, shards);
  const runId = (values["run-id"] as string) ?? newId;
  const yaml = k8sManifest({
    config: configPath,
    runId,
    waves,
    ...overrides,
    shards,
    image: (values.image as string) ?? "xcompare:latest",
    pvc: (values.pvc as string) ?? k8sDefaults.pvc,
    workdir: k8sDefaults.workdir,
    gpusPerTask: intFlag(values, "gpus-per-task", k8sDefaults.gpusPerTask),
    pollSeconds: k8sDefaults.pollSeconds,
  });
  if (!values.out) {
    console.log(yaml);
    return 0;
  }
  await writeJobFile(values.out as string, yaml);
  console.error(`wrote ${values.out}: kubectl apply -f ${values.out}`);
  return 0;
}
