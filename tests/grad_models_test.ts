/**
 * Gradient graphs of real models against references: every zoo model against PyTorch autograd
 * (tests/fixtures/grad/<id>/, written by zoo/grad_fixtures.py), and the dequantised int8
 * MobileNetV2 from ../shared against finite differences.
 */
import { assert, assertAlmostEquals } from "./assert.ts";
import { createGradientModel } from "../runtime/grad_model.ts";
import { gradCheck } from "../runtime/grad_check.ts";
import { readNpy } from "../runtime/npy.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const ZOO = `${ROOT}zoo/models/`;
const FIXTURES = `${ROOT}tests/fixtures/grad/`;
const MOBILENET = `${ROOT}../shared/models/mobilenetv2-12-int8.onnx`;

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}

const zooModels = (() => {
  try {
    return [...Deno.readDirSync(ZOO)].filter((e) => e.name.endsWith(".onnx"))
      .map((e) => e.name.slice(0, -5)).sort();
  } catch {
    return [];
  }
})();

const FILES = ["x", "cls", "prob", "grad_prob", "grad_logit"];

/** max |a − b| / max |b|. */
function relToMax(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-30);
}

if (zooModels.length === 0) {
  Deno.test({
    name: "zoo gradients match PyTorch (no zoo/models/*.onnx yet)",
    ignore: true,
    fn: () => {},
  });
}

for (const id of zooModels) {
  const dir = `${FIXTURES}${id}/`;
  const missing = FILES.filter((f) => !exists(`${dir}${f}.npy`));
  Deno.test({
    name: missing.length
      ? `zoo ${id}: gradients match PyTorch (skipped: ${dir} lacks ${missing.join(", ")}.npy)`
      : `zoo ${id}: gradients match PyTorch autograd to 1e-4 of max |grad|`,
    ignore: missing.length > 0,
    fn: async () => {
      const [x, cls, prob, gp, gl] = await Promise.all(FILES.map((f) => readNpy(`${dir}${f}.npy`)));
      const n = x.shape[0];
      const classes = Int32Array.from(cls.data as BigInt64Array, Number);
      const xs = x.data as Float32Array;
      for (const [target, ref] of [["prob", gp], ["logit", gl]] as const) {
        const gm = await createGradientModel(`${ZOO}${id}.onnx`, { target });
        try {
          const out = await gm.probsAndGrad(xs, n, classes);
          const err = relToMax(out.grad, ref.data as Float32Array);
          assert(err < 1e-4, `${id} ${target}: gradient differs by ${err} of max |grad|`);
          for (let i = 0; i < n; i++) {
            assertAlmostEquals(out.probs[i], (prob.data as Float32Array)[i], 1e-5, `${id} prob`);
          }
        } finally {
          await gm.release();
        }
      }
    },
  });
}

Deno.test({
  name: "dequantised MobileNetV2: gradient graph vs finite differences" +
    (exists(MOBILENET) ? "" : " (skipped: ../shared/models/mobilenetv2-12-int8.onnx missing)"),
  ignore: !exists(MOBILENET),
  fn: async () => {
    // A ReLU6 network: finite differences straddle clip kinks or drown in float32 rounding, so
    // the tolerance is loose (measured: ~1% at the best step; a wrong rule gives O(1)).
    const r = await gradCheck(MOBILENET, { eps: [1e-3, 1e-4], directions: 2, batch: 1, seed: 3 });
    assert(r.worstRelError < 0.1, `relative error ${r.worstRelError}`);
    assert(r.ops.Conv === 52 && !("QLinearConv" in r.ops), "checked the float rewrite");
    // ... and the result says so, not that it checked the int8 model.
    assert(r.checked === "float surrogate of a quantised model", r.checked);
  },
});
