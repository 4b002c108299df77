import { assertEquals } from "../tests/assert.ts";
import { aOrAn } from "./article.ts";

Deno.test("an before numbers read with a vowel sound", () => {
  for (const n of [8, 11, 18, 80, 84, 800, 11000, "18"]) assertEquals(aOrAn(n), "an", String(n));
  for (const n of [1, 7, 28, 112, 180, 1100, 100]) assertEquals(aOrAn(n), "a", String(n));
});
