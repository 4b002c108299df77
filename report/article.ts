/** Small English for numbers in the report: "a" or "an" before digits, and counted nouns. */

/** "a" or "an" before a number written in digits, as it is read aloud: an 8x8 grid, an 11x11. */
export function aOrAn(n: number | string): "a" | "an" {
  const s = String(n);
  // Eight, eighty, eight hundred...; eleven and eighteen, and their thousands.
  return /^8/.test(s) || /^(11|18)(\d{3})*$/.test(s) ? "an" : "a";
}

/** `1 image`, `0 images`, `2 models`: a count with its noun (`many` where "s" will not do). */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
