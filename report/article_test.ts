import { assertEquals } from "../tests/assert.ts";
import { aOrAn, plural } from "./article.ts";

Deno.test("an before numbers read with a vowel sound", () => {
  for (const n of [8, 11, 18, 80, 84, 800, 11000, "18"]) assertEquals(aOrAn(n), "an", String(n));
  for (const n of [1, 7, 28, 112, 180, 1100, 100]) assertEquals(aOrAn(n), "a", String(n));
});

Deno.test("a count with its noun, singular for one", () => {
  assertEquals([plural(0, "image"), plural(1, "model"), plural(2, "model")], [
    "0 images",
    "1 model",
    "2 models",
  ]);
});
