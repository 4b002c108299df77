/**
 * Patch subsets as plain numbers: bit i set = patch i (row-major) revealed. A 7x7 grid needs 49
 * bits, which a JS number holds exactly (integers below 2^53), so subsets are cheap Map keys and
 * compare with `===`; no strings are ever built for them. JS bitwise operators work on 32 bits
 * only, so the helpers split a subset into its low and high 32-bit words.
 */

/** The most patches a subset can hold: integers stay exact below 2^53. */
export const MAX_PATCHES = 53;

const TWO32 = 4294967296;
const POW2: number[] = Array.from({ length: MAX_PATCHES }, (_, i) => 2 ** i);

/** The empty subset (no patch revealed). */
export const EMPTY = 0;

function checkIndex(i: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= MAX_PATCHES) {
    throw new RangeError(
      `patchset: patch index must be an integer in [0, ${MAX_PATCHES}), got ${i}`,
    );
  }
}

function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Number of revealed patches. */
export function size(s: number): number {
  const lo = s >>> 0;
  return popcount32(lo) + popcount32((s - lo) / TWO32);
}

/** Whether patch `i` is in the subset. */
export function has(s: number, i: number): boolean {
  return i < 32
    ? ((s >>> 0) & (1 << i)) !== 0
    : ((((s - (s >>> 0)) / TWO32) >>> (i - 32)) & 1) === 1;
}

/** The subset with patch `i` added (unchanged when already there). */
export function add(s: number, i: number): number {
  checkIndex(i);
  return has(s, i) ? s : s + POW2[i];
}

/** The subset with patch `i` removed (unchanged when absent). */
export function remove(s: number, i: number): number {
  checkIndex(i);
  return has(s, i) ? s - POW2[i] : s;
}

/** Patch indices in ascending (row-major) order. */
export function toIndices(s: number): number[] {
  const out: number[] = [];
  const lo = s >>> 0;
  const hi = (s - lo) / TWO32;
  for (let i = 0; i < 32; i++) if (lo & (1 << i)) out.push(i);
  for (let i = 0; hi !== 0 && i < MAX_PATCHES - 32; i++) if ((hi >>> i) & 1) out.push(32 + i);
  return out;
}

/** The subset holding exactly these patch indices (duplicates are ignored). */
export function fromIndices(indices: Iterable<number>): number {
  let s = 0;
  for (const i of indices) s = add(s, i);
  return s;
}

/** Every subset of a `patches`-patch grid is below this bound. */
export function universe(patches: number): number {
  if (!Number.isInteger(patches) || patches < 0 || patches > MAX_PATCHES) {
    throw new RangeError(
      `patchset: patch count must be an integer in [0, ${MAX_PATCHES}], got ${patches}`,
    );
  }
  return POW2[patches] ?? 2 ** patches;
}

/** Whether `s` is a valid subset of a `patches`-patch grid. */
export function isSubsetOf(s: number, patches: number): boolean {
  return Number.isInteger(s) && s >= 0 && s < universe(patches);
}

/** The 0/1 mask on a `grid x grid` grid, row-major, 1 = revealed. */
export function toMask(s: number, grid: number, out?: Float32Array): Float32Array {
  const n = grid * grid;
  if (!isSubsetOf(s, n)) {
    throw new RangeError(`patchset: subset ${s} does not fit a ${grid}x${grid} grid`);
  }
  const m = out ?? new Float32Array(n);
  if (m.length !== n) throw new RangeError(`patchset: mask buffer has ${m.length} cells, not ${n}`);
  m.fill(0);
  for (const i of toIndices(s)) m[i] = 1;
  return m;
}

/** The subset a 0/1 mask encodes; any other cell value is an error. */
export function fromMask(mask: ArrayLike<number>): number {
  if (mask.length > MAX_PATCHES) {
    throw new RangeError(`patchset: a mask of ${mask.length} cells does not fit a subset`);
  }
  let s = 0;
  for (let i = 0; i < mask.length; i++) {
    const v = mask[i];
    if (v === 1) s += POW2[i];
    else if (v !== 0) throw new RangeError(`patchset: mask cell ${i} is ${v}, not 0 or 1`);
  }
  return s;
}
