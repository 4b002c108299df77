/**
 * Top-1/top-5 accuracy of an ONNX model on a labelled image folder: how a user checks an export
 * and its preprocessing before a long run. Images that fail to decode are listed, not fatal.
 */
import type { Provider } from "../lib/runtime_identity.ts";
import { cardBeside } from "./registry.ts";
import { Forward } from "./forward.ts";
import { loadImages } from "./images.ts";
import { optionsFromCard, type PreprocessOptions } from "./preprocess_options.ts";
import { listFolderWithLabels } from "./datasets.ts";
import { jsonSyntaxReason } from "../lib/json_reason.ts";

export interface EvaluateOptions {
  card?: string;
  limit?: number;
  providers: Provider[];
  batchSize: number;
  /** Called at the start and after each batch: images done (decoded or failed) of how many. */
  onProgress?: (done: number, total: number) => void;
}

export const defaults: EvaluateOptions = { providers: ["cpu"], batchSize: 32 };

export interface EvaluateResult {
  model: string;
  images: number;
  labelled: number;
  top1: number;
  top5: number;
  errors: { file: string; error: string }[];
  provider: string;
  preprocess: PreprocessOptions;
  seconds: number;
}

export async function evaluate(
  model: string,
  images: string,
  labels: string,
  options: Partial<EvaluateOptions> = {},
): Promise<EvaluateResult> {
  const o = { ...defaults, ...options };
  const t0 = performance.now();
  const cardPath = o.card ?? cardBeside(model);
  let card: Record<string, unknown> = {};
  try {
    card = JSON.parse(await Deno.readTextFile(cardPath));
  } catch (e) {
    if (o.card) throw new Error(`${cardPath}: cannot read card (${jsonSyntaxReason(e)})`);
  }
  const preprocess = optionsFromCard(card.preprocess ?? {}, cardPath);
  const ds = listFolderWithLabels(images, labels);
  const items = o.limit ? ds.items.slice(0, o.limit) : ds.items;
  o.onProgress?.(0, items.length);
  const fwd = await Forward.create(model, {
    batchSize: o.batchSize,
    topK: 5,
    session: { providers: o.providers },
  });
  let hit1 = 0, hit5 = 0, labelled = 0, seen = 0;
  const errors: EvaluateResult["errors"] = [];
  try {
    for (let s = 0; s < items.length; s += 64) {
      const part = items.slice(s, s + 64);
      const { ok, errors: errs } = await loadImages(part.map((i) => i.file), preprocess);
      errors.push(...errs.map((e) => ({ file: e.path, error: e.error })));
      if (!ok.length) continue;
      const r = await fwd.run(ok.map((x) => x.image));
      ok.forEach((x, k) => {
        seen++;
        const label = part[x.index].label;
        if (label === null) return;
        labelled++;
        const top = r.top.subarray(k * r.topK, (k + 1) * r.topK);
        if (top[0] === label) hit1++;
        if (top.includes(label)) hit5++;
      });
      o.onProgress?.(Math.min(s + 64, items.length), items.length);
    }
  } finally {
    await fwd.release();
  }
  return {
    model,
    images: seen,
    labelled,
    top1: labelled ? (100 * hit1) / labelled : NaN,
    top5: labelled ? (100 * hit5) / labelled : NaN,
    errors,
    provider: fwd.provider,
    preprocess,
    seconds: (performance.now() - t0) / 1000,
  };
}
