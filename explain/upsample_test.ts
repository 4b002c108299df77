import { assert, assertAlmostEquals, assertEquals } from "../tests/assert.ts";
import { Rng } from "../lib/rng.ts";
import { axisWeights, compose, Upsampler } from "./upsample.ts";

Deno.test("bilinear align_corners hits grid values at the corners and is a partition of unity", () => {
  const w = axisWeights(7, 28, "bilinear");
  assertEquals(w[0], 1);
  assertEquals(w[27 * 7 + 6], 1);
  for (let y = 0; y < 28; y++) {
    let s = 0;
    for (let j = 0; j < 7; j++) s += w[y * 7 + j];
    assertAlmostEquals(s, 1, 1e-6);
  }
  // y = 14 maps to source 14*6/27 = 3.111...: weights 0.888.. on cell 3 and 0.111.. on cell 4.
  assertAlmostEquals(w[14 * 7 + 3], 1 - 84 / 27 + 3, 1e-6);
});

Deno.test("nearest gives hard blocks of 4 pixels for a 7x7 grid at 28 px", () => {
  const up = new Upsampler(7, 7, 28, 28, "nearest");
  const m = new Float32Array(49);
  m[1 * 7 + 2] = 1; // row 1, column 2
  const u = up.apply(m);
  let on = 0;
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const inside = y >= 4 && y < 8 && x >= 8 && x < 12;
      assertEquals(u[y * 28 + x], inside ? 1 : 0);
      on += u[y * 28 + x];
    }
  }
  assertEquals(on, 16);
});

Deno.test("adjoint satisfies <U m, g> = <m, Uᵀ g>", () => {
  const r = new Rng(3);
  for (const mode of ["bilinear", "nearest"] as const) {
    const up = new Upsampler(7, 5, 28, 20, mode);
    const m = Float32Array.from({ length: 35 }, () => r.next());
    const g = Float32Array.from({ length: 560 }, () => r.normal());
    const um = up.apply(m), ug = up.adjoint(g);
    let lhs = 0, rhs = 0;
    for (let i = 0; i < um.length; i++) lhs += um[i] * g[i];
    for (let i = 0; i < m.length; i++) rhs += m[i] * ug[i];
    assert(Math.abs(lhs - rhs) < 1e-3 * Math.abs(lhs) + 1e-4, `${mode}: ${lhs} vs ${rhs}`);
  }
});

Deno.test("compose blends image and baseline per pixel across channels", () => {
  const img = Float32Array.from([1, 2, 3, 4]), base = Float32Array.from([0, 0, 1, 1]);
  const u = Float32Array.from([1, 0.5]);
  assertEquals(Array.from(compose(img, base, u, 2)), [1, 1, 3, 2.5]);
});
