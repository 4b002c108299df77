/**
 * `xcompare grad-check`: the gradient graph against central finite differences, as JSON on
 * stdout and a one-line verdict on stderr; exit 0 when the worst relative error is at most the
 * threshold, 1 above it.
 */
import { intFlag, UsageError } from "./args.ts";
import { defaults, gradCheck } from "../runtime/grad_check.ts";
import type { GradTarget } from "../runtime/onnx/grad/build.ts";
import { jsonSyntaxReason } from "../lib/json_reason.ts";

/** Positive numbers, comma-separated, with an error naming the flag. */
function positives(v: Record<string, unknown>, name: string): number[] | undefined {
  const raw = v[name];
  if (raw === undefined) return undefined;
  const xs = String(raw).split(",").map(Number);
  if (!xs.length || xs.some((x) => !(x > 0) || !Number.isFinite(x))) {
    throw new UsageError(`--${name}: expected positive numbers separated by commas, got "${raw}"`);
  }
  return xs;
}

export async function gradCheckVerb(v: Record<string, unknown>): Promise<number> {
  if (!v.model) throw new UsageError("xcompare grad-check: --model is required");
  const target = (v.target ?? defaults.target) as GradTarget;
  if (target !== "logit" && target !== "prob") {
    throw new UsageError(`--target: expected logit or prob, got "${v.target}"`);
  }
  const threshold = positives(v, "threshold");
  if (threshold && threshold.length !== 1) {
    throw new UsageError(`--threshold: expected one number, got "${v.threshold}"`);
  }
  let inputScale: number | undefined;
  if (v.card) {
    // Inputs are drawn in the model's normalised space: pixels spread about 0.5 in [0, 1] units
    // become about 0.5 / std after the card's normalisation.
    const card = await readCard(v.card as string);
    const std: number[] = card.preprocess?.std ?? card.input?.std ?? [1];
    inputScale = 0.5 / (std.reduce((a, b) => a + b, 0) / std.length);
  }
  const flags = v as Record<string, string>;
  const r = await gradCheck(v.model as string, {
    target,
    threshold: threshold?.[0] ?? defaults.threshold,
    directions: intFlag(flags, "directions", defaults.directions),
    eps: positives(v, "eps") ?? defaults.eps,
    batch: intFlag(flags, "batch", defaults.batch),
    seed: intFlag(flags, "seed", defaults.seed),
    ...(inputScale ? { inputScale } : {}),
  });
  console.log(JSON.stringify(r, null, 1));
  const kinkFree = r.perDirection.filter((d) => d.kinkFree).length;
  console.error(
    `grad-check ${r.passed ? "passed" : "FAILED"}: worst relative error ` +
      `${r.worstRelError.toExponential(2)} ${r.passed ? "<=" : ">"} ${r.threshold} ` +
      `(${r.target}; ${kinkFree}/${r.perDirection.length} directions crossed no kink)`,
  );
  return r.passed ? 0 : 1;
}

/** The card's JSON; an error names the file and the reason, never its contents. */
async function readCard(
  path: string,
): Promise<{ preprocess?: { std?: number[] }; input?: { std?: number[] } }> {
  const text = await Deno.readTextFile(path).catch((e) => {
    throw new Error(`${path}: cannot read card (${(e as Error).message})`);
  });
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: card is not valid JSON (${jsonSyntaxReason(e)})`);
  }
}
