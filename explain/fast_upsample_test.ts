import { assertAlmostEquals } from "../tests/assert.ts";
import { SparseUpsampler } from "./fast_upsample.ts";
import { Rng } from "../lib/rng.ts";
import { Upsampler } from "./upsample.ts";

Deno.test("SparseUpsampler equals Upsampler, forward and adjoint, both modes", () => {
  const r = new Rng(1);
  for (const mode of ["bilinear", "nearest"] as const) {
    for (
      const [gh, gw, h, w] of [[7, 7, 28, 28], [28, 28, 224, 224], [5, 3, 17, 11], [1, 4, 3, 9]]
    ) {
      const a = new Upsampler(gh, gw, h, w, mode), b = new SparseUpsampler(gh, gw, h, w, mode);
      const m = Float64Array.from({ length: gh * gw }, () => r.next());
      const g = Float64Array.from({ length: h * w }, () => r.normal());
      const ua = a.apply(m), ub = b.apply(m);
      for (let i = 0; i < ua.length; i++) assertAlmostEquals(ub[i], ua[i], 1e-5, `${mode} apply`);
      const ga = a.adjoint(g), gb = b.adjoint(g);
      for (let i = 0; i < ga.length; i++) {
        assertAlmostEquals(gb[i], ga[i], 1e-3 * Math.max(1, Math.abs(ga[i])), `${mode} adjoint`);
      }
    }
  }
});
