import { assert, assertEquals } from "../tests/assert.ts";
import { accuracyIntervals } from "./accuracy.ts";
import { defaults } from "./stats.ts";

const item = (label: number | null, pred: number, top: number[]) => ({
  label,
  pred,
  top5: top.map((c): [number, number] => [c, 0.1]),
});

Deno.test("accuracy intervals bracket the accuracy and are reproducible", () => {
  // 80 images: 60 right at top-1, 76 right at top-5.
  const items = Array.from(
    { length: 80 },
    (_, i) => i < 60 ? item(1, 1, [1, 2]) : i < 76 ? item(1, 2, [2, 1]) : item(1, 2, [2, 3]),
  );
  const a = accuracyIntervals(items, defaults, "m");
  assert(a.top1 && a.top5, "both intervals present");
  assert(a.top1.lo < 0.75 && 0.75 < a.top1.hi, `top-1 0.75 outside ${JSON.stringify(a.top1)}`);
  assert(a.top5.lo < 0.95 && 0.95 < a.top5.hi, `top-5 0.95 outside ${JSON.stringify(a.top5)}`);
  // The binomial standard error at p = 0.75, n = 80 is 0.048: a 95% interval spans about 0.19.
  const width = a.top1.hi - a.top1.lo;
  assert(width > 0.14 && width < 0.24, `top-1 interval width ${width}`);
  assertEquals(accuracyIntervals(items, defaults, "m"), a, "same inputs, same interval");
});

Deno.test("unlabelled images are left out; none labelled gives no interval", () => {
  assertEquals(accuracyIntervals([item(null, 1, [1])], defaults, "m"), {});
  const some = accuracyIntervals(
    [item(null, 1, [1]), item(2, 2, [2]), item(2, 2, [2])],
    defaults,
    "m",
  );
  assertEquals(some.top1, { lo: 1, hi: 1 });
});
