/** "a" or "an" before a number written in digits, as it is read aloud: an 8x8 grid, an 11x11. */
export function aOrAn(n: number | string): "a" | "an" {
  const s = String(n);
  // Eight, eighty, eight hundred...; eleven and eighteen, and their thousands.
  return /^8/.test(s) || /^(11|18)(\d{3})*$/.test(s) ? "an" : "a";
}
