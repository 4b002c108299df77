import { assert } from "../tests/assert.ts";
import { gradCheck, THRESHOLD } from "./grad_check.ts";
import { rules } from "./onnx/grad/build.ts";
import type { RuleTable } from "./onnx/grad/rule.ts";

const CNN = new URL("../zoo/models/cnn-bn.onnx", import.meta.url).pathname;

/** The rule table with one op's input gradients scaled by `factor`: a planted error. */
function planted(op: string, factor: number): RuleTable {
  const rule = rules[op];
  return {
    ...rules,
    [op]: {
      ...rule,
      vjp: (ctx, n, g, needs) =>
        rule.vjp(ctx, n, g, needs).map((gi) => gi && ctx.mul(gi, ctx.f32(factor))),
    },
  };
}

Deno.test("grad-check passes the zoo's ReLU CNN and fails it with a 5% error in one VJP rule", async () => {
  for (const target of ["logit", "prob"] as const) {
    const ok = await gradCheck(CNN, { target });
    assert(ok.passed, `${target}: relative error ${ok.worstRelError} > ${THRESHOLD}`);
    assert(ok.kinks.frozen.Relu === 5, "the ReLUs were frozen");
    assert(ok.checked === "model", "a float model is checked as itself");
    // Gemm: one node, so the whole gradient is exactly 5% off; Relu: all five ReLUs.
    for (const op of ["Gemm", "Relu"]) {
      const bad = await gradCheck(CNN, { target, rules: planted(op, 1.05) });
      assert(!bad.passed, `${target}, ${op} x1.05: passed with ${bad.worstRelError}`);
      assert(bad.worstRelError > 0.04, `${target}, ${op} x1.05: ${bad.worstRelError}`);
    }
  }
});
