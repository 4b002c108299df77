/**
 * The report's baseline regime (issue 22): per model, the mean r(∅) = p_B(ĉ) / p_I(ĉ) over every
 * image infer-baselines saw and the share of them where the baseline alone exceeds Ph, beside how
 * many of the images Table 1 searched were left out for it. It says how far a run is from the
 * paper's regime (ImageNet under the paper's blur: mean r(∅) 0.007, none at Ph), which the report
 * stage adds from bench/baseline-regime.json.
 */
import type { Config } from "../../configs/schema.ts";
import type { UnitIO, UnitRef } from "../../pipeline/stage.ts";
import type { CalibrationReference, CalibrationSection } from "../../report/input.ts";
import type { StoredPredictions } from "./predictions_io.ts";
import { jsonSyntaxReason } from "../../lib/json_reason.ts";

/** The rule, as the report states it (the config's notes and METHODS §1 say the same). */
export const BASELINE_SUFFICES_RULE =
  'An image whose baseline alone has r(∅) > Ph is "baseline suffices": the MSE search stops ' +
  "at once (no subset can be smaller than ∅), the image has no MSEs, and Table 1 counts it per " +
  "model and leaves it out of every mean and every verdict; the same rule under either ratio.";

/** The run's baseline in words. */
export function describeBaseline(b: Config["baseline"]): string {
  if (b === "zero") return "zeros after normalisation";
  if (b === "blur") return "the paper's Gaussian blur (51 x 51, sigma 50 at 224 px, scaled)";
  return `a Gaussian blur of kernel ${b.blur.kernelFraction} and sigma ${b.blur.sigmaFraction} ` +
    "image sides";
}

/** Mean r(∅) and the share above Ph over one model's predictions. */
export function regime(items: readonly { pFull: number; blurPred: number }[], ph: number) {
  const r0 = items.filter((it) => it.pFull > 0).map((it) => it.blurPred / it.pFull);
  return {
    images: r0.length,
    mean_r0: r0.reduce((a, b) => a + b, 0) / Math.max(1, r0.length),
    suffices: r0.filter((r) => r > ph).length / Math.max(1, r0.length),
  };
}

/**
 * Every model's row: r(∅) from infer-baselines' predictions, and from mse-search's output the Ph
 * it used and the images it found the baseline sufficed for.
 */
export async function calibrationSection(
  io: UnitIO,
  models: string[],
  units: (stage: string) => UnitRef[],
  baseline: Config["baseline"],
): Promise<CalibrationSection | undefined> {
  const preds = new Map<string, StoredPredictions>();
  for (const r of units("infer-baselines")) {
    const p = await io.readInputJson<StoredPredictions>(r, "preds.json");
    preds.set(p.model, p);
  }
  const searched = new Map<string, { n: number; suffices: number }>();
  let ph: number | undefined;
  for (const r of units("mse-search")) {
    const m = await io.readInputJson<{
      model: string;
      options: { ph: number };
      images: { baselineSuffices?: boolean }[];
    }>(r, "mse.json");
    ph ??= m.options.ph;
    const s = searched.get(m.model) ?? { n: 0, suffices: 0 };
    s.n += m.images.length;
    s.suffices += m.images.filter((im) => im.baselineSuffices).length;
    searched.set(m.model, s);
  }
  if (ph === undefined || preds.size === 0) return undefined;
  return {
    ph,
    rule: BASELINE_SUFFICES_RULE,
    baseline: describeBaseline(baseline),
    models: models.filter((id) => preds.has(id)).map((id) => ({
      model: id,
      ...regime(preds.get(id)!.items, ph!),
      ...(searched.has(id)
        ? { searched: searched.get(id)!.n, searched_suffices: searched.get(id)!.suffices }
        : {}),
    })),
  };
}

/**
 * The measured reference row from a bench/baseline_regime.ts output (its `imagenet` entry).
 * Errors name the file and the key, never the contents.
 */
export function parseCalibrationReference(text: string, file: string): CalibrationReference {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: invalid JSON: ${jsonSyntaxReason(e)}`);
  }
  const im = (v as { imagenet?: Record<string, unknown> })?.imagenet;
  const r0 = im?.r0 as Record<string, unknown> | undefined;
  const need = (ok: boolean, key: string) => {
    if (!ok) throw new Error(`${file}: expected ${key}`);
  };
  need(!!im && typeof im === "object", 'key "imagenet" (an object)');
  need(typeof im!.model === "string", 'string "imagenet.model"');
  need(typeof im!.blur === "string", 'string "imagenet.blur"');
  need(!!r0 && typeof r0 === "object", 'key "imagenet.r0" (an object)');
  for (const k of ["images", "mean", "atLeastPh"]) {
    need(typeof r0![k] === "number", `number "imagenet.r0.${k}"`);
  }
  const model = (im!.model as string).split("/").pop()!.replace(/\.onnx$/, "");
  return {
    label: "ImageNet reference",
    source: file,
    model,
    baseline: `${im!.blur} blur`,
    images: r0!.images as number,
    mean_r0: r0!.mean as number,
    suffices: r0!.atLeastPh as number,
  };
}
