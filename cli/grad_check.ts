/** `xcompare grad-check`: the gradient graph against central finite differences, as JSON. */
import { intFlag, UsageError } from "./args.ts";
import { gradCheck } from "../runtime/grad_check.ts";

export async function gradCheckVerb(v: Record<string, unknown>): Promise<number> {
  if (!v.model) throw new UsageError("xcompare grad-check: --model is required");
  let inputScale: number | undefined;
  if (v.card) {
    // Inputs are drawn in the model's normalised space: pixels spread about 0.5 in [0, 1] units
    // become about 0.5 / std after the card's normalisation.
    const card = JSON.parse(await Deno.readTextFile(v.card as string));
    const std: number[] = card.preprocess?.std ?? card.input?.std ?? [1];
    inputScale = 0.5 / (std.reduce((a, b) => a + b, 0) / std.length);
  }
  const r = await gradCheck(v.model as string, {
    directions: intFlag(v as Record<string, string>, "directions", 3),
    seed: intFlag(v as Record<string, string>, "seed", 1),
    ...(inputScale ? { inputScale } : {}),
  });
  console.log(JSON.stringify(r, null, 1));
  return 0;
}
