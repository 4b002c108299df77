/**
 * `xcompare grad-check`: the gradient graph against central finite differences, as JSON on
 * stdout and a one-line verdict on stderr; exit 0 when the worst relative error is at most the
 * threshold, 1 above it, and 2 when no check was made: a usage error, a model or card that cannot
 * be read, or a card whose recorded sha256 is another model's (so a script can tell a failed check
 * from a broken command).
 */
import { basename } from "node:path";
import { intFlag, UsageError } from "./args.ts";
import { sha256File } from "../lib/hash.ts";
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
  const threshold = v.threshold === undefined ? undefined : Number(v.threshold);
  if (threshold !== undefined && !(threshold > 0 && Number.isFinite(threshold))) {
    throw new UsageError(
      `--threshold: expected one number above 0 (the worst relative error that passes, ` +
        `default ${defaults.threshold}), got "${v.threshold}"`,
    );
  }
  const model = v.model as string;
  let inputScale: number | undefined;
  if (v.card) {
    // Inputs are drawn in the model's normalised space: pixels spread about 0.5 in [0, 1] units
    // become about 0.5 / std after the card's normalisation.
    const card = await readCard(v.card as string);
    await checkCardMatches(v.card as string, card, model);
    const std: number[] = card.preprocess?.std ?? card.input?.std ?? [1];
    inputScale = 0.5 / (std.reduce((a, b) => a + b, 0) / std.length);
  }
  const flags = v as Record<string, string>;
  const options = {
    target,
    threshold: threshold ?? defaults.threshold,
    directions: intFlag(flags, "directions", defaults.directions),
    eps: positives(v, "eps") ?? defaults.eps,
    batch: intFlag(flags, "batch", defaults.batch),
    seed: intFlag(flags, "seed", defaults.seed),
    ...(inputScale ? { inputScale } : {}),
  };
  let r: Awaited<ReturnType<typeof gradCheck>>;
  try {
    r = await gradCheck(model, options);
  } catch (e) {
    // No check was made (the model cannot be read or differentiated): not a failed check.
    console.error(`xcompare grad-check: ${(e as Error).message}`);
    return 2;
  }
  console.log(JSON.stringify(r, null, 1));
  const kinkFree = r.perDirection.filter((d) => d.kinkFree).length;
  console.error(
    `grad-check ${r.passed ? "passed" : "FAILED"}: worst relative error ` +
      `${r.worstRelError.toExponential(2)} ${r.passed ? "<=" : ">"} ${r.threshold} ` +
      `(${r.target}; ${kinkFree}/${r.perDirection.length} directions crossed no kink)` +
      (r.checked === "model" ? "" : `; checked the ${r.checked} (docs/METHODS.md §3)`),
  );
  return r.passed ? 0 : 1;
}

interface Card {
  id?: string;
  /** sha256 of the ONNX file the card describes (zoo cards record it). */
  sha256?: string;
  preprocess?: { std?: number[] };
  input?: { std?: number[] };
}

/** The card's JSON; an error (exit 2) names the file and the reason, never its contents. */
async function readCard(path: string): Promise<Card> {
  const text = await Deno.readTextFile(path).catch((e) => {
    throw new UsageError(`${path}: cannot read card (${(e as Error).message})`);
  });
  try {
    const card = JSON.parse(text);
    if (card === null || typeof card !== "object" || Array.isArray(card)) {
      throw new UsageError(`${path}: a card is a JSON object`);
    }
    return card;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${path}: card is not valid JSON (${jsonSyntaxReason(e)})`);
  }
}

/**
 * A card that records its model's sha256 must be this model's: another model's card would scale
 * the inputs by the wrong std without a word. A card without one is taken as given.
 */
async function checkCardMatches(cardPath: string, card: Card, model: string): Promise<void> {
  if (typeof card.sha256 !== "string") return;
  const actual = await sha256File(model).catch((e) => {
    throw new UsageError(`${model}: cannot read model (${(e as Error).message})`);
  });
  if (actual === card.sha256) return;
  throw new UsageError(
    `--card ${cardPath}: the card is ${card.id ? `model "${card.id}"'s` : "another model's"} ` +
      `(sha256 ${card.sha256.slice(0, 12)}…), not ${basename(model)}'s (sha256 ${
        actual.slice(0, 12)
      }…); pass the model's own card`,
  );
}
