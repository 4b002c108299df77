/**
 * `xcompare evaluate`: prints a model's accuracy on a labelled folder as JSON, with the images
 * done, rate and ETA on stderr while it runs.
 */
import { UsageError } from "./args.ts";
import { StageProgress } from "../pipeline/progress.ts";
import { evaluate } from "../runtime/evaluate.ts";
import type { Provider } from "../lib/runtime_identity.ts";

export async function evaluateVerb(v: Record<string, unknown>): Promise<number> {
  for (const k of ["model", "images", "labels"]) {
    if (!v[k]) throw new UsageError(`xcompare evaluate: --${k} is required`);
  }
  let progress: StageProgress | undefined;
  let shown = 0;
  const r = await evaluate(v.model as string, v.images as string, v.labels as string, {
    card: v.card as string | undefined,
    limit: v.limit ? Number(v.limit) : undefined,
    providers: v.provider ? [v.provider as Provider] : ["cpu"],
    onProgress: (done, total) => {
      progress ??= new StageProgress("evaluate", total, { noun: "images", intervalMs: 5_000 });
      if (done > shown) progress.advance(done - shown);
      shown = done;
    },
  });
  progress?.finish();
  console.log(JSON.stringify(
    {
      ...r,
      top1: Math.round(r.top1 * 100) / 100,
      top5: Math.round(r.top5 * 100) / 100,
      seconds: Math.round(r.seconds * 10) / 10,
    },
    null,
    1,
  ));
  return 0;
}
