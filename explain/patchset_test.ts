import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import { Rng } from "../lib/rng.ts";
import {
  add,
  EMPTY,
  fromIndices,
  fromMask,
  has,
  isSubsetOf,
  remove,
  size,
  toIndices,
  toMask,
  universe,
} from "./patchset.ts";

Deno.test("patchset handles the high words of a 49-patch grid exactly", () => {
  const idx = [0, 5, 31, 32, 33, 47, 48];
  const s = fromIndices(idx);
  assertEquals(s, idx.reduce((a, i) => a + 2 ** i, 0));
  assert(s < 2 ** 49 && Number.isSafeInteger(s));
  assertEquals(toIndices(s), idx);
  assertEquals(size(s), idx.length);
  for (let i = 0; i < 49; i++) assertEquals(has(s, i), idx.includes(i), `has ${i}`);
  assertEquals(add(s, 31), s);
  assertEquals(remove(s, 30), s);
  assertEquals(toIndices(remove(s, 32)), [0, 5, 31, 33, 47, 48]);
  assertEquals(toIndices(add(EMPTY, 48)), [48]);
  assertEquals(size(universe(49) - 1), 49);
});

Deno.test("patchset agrees with a Set-of-indices reference on random subsets", () => {
  const rng = new Rng(3);
  for (let t = 0; t < 300; t++) {
    const ref = new Set<number>();
    let s = EMPTY;
    for (let k = 0; k < 40; k++) {
      const i = rng.int(49);
      if (rng.next() < 0.6) {
        ref.add(i);
        s = add(s, i);
      } else {
        ref.delete(i);
        s = remove(s, i);
      }
    }
    const sorted = [...ref].sort((a, b) => a - b);
    assertEquals(toIndices(s), sorted);
    assertEquals(size(s), ref.size);
    assertEquals(s, fromIndices(sorted));
    const m = toMask(s, 7);
    assertEquals(m.reduce((a, b) => a + b, 0), ref.size);
    assertEquals(fromMask(m), s);
  }
});

Deno.test("patchset masks and range errors", () => {
  assertEquals([...toMask(fromIndices([1, 3]), 2)], [0, 1, 0, 1]);
  assert(isSubsetOf(15, 4) && !isSubsetOf(16, 4) && !isSubsetOf(1.5, 4) && !isSubsetOf(-1, 4));
  assertThrows(() => toMask(16, 2), /does not fit a 2x2 grid/);
  assertThrows(() => fromMask([0, 0.5]), /cell 1 is 0.5/);
  assertThrows(() => add(0, 53), /patch index/);
  assertThrows(() => toMask(1, 2, new Float32Array(3)), /3 cells, not 4/);
});
