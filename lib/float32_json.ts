/**
 * A float32 as the shortest decimal that reads back to the same float32, for JSON: a stored I-GOS
 * mask then replays its search exactly (rounding to 1e-4 reordered near ties), in about 9 digits
 * rather than the 17 a float64 printout of the same value takes.
 */
export function float32Json(v: number): number {
  const f = Math.fround(v);
  if (!Number.isFinite(f) || f === 0) return f;
  for (let p = 1; p < 9; p++) {
    const d = Number(f.toPrecision(p));
    if (Math.fround(d) === f) return d;
  }
  return Number(f.toPrecision(9));
}
