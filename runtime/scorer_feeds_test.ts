import { assertEquals } from "../tests/assert.ts";
import { BatchFeeds, timingFeeds, upsampleFeeds } from "./scorer_feeds.ts";

const SHAPE = [1, 2, 2] as const;
const image = (v: number) => new Float32Array(4).fill(v);
const diffs = [image(10), image(11), image(12)];
const baselines = [image(20), image(21), image(22)];
const mask = (v: number) => new Float32Array(4).fill(v);

Deno.test("a batch ships each image its masks use once, and only those", () => {
  const feeds = new BatchFeeds(SHAPE, 4);
  const batch = [
    { image: 2, mask: mask(1), cls: 3 },
    { image: 0, mask: mask(2), cls: 1 },
    { image: 2, mask: mask(3), cls: 0 },
  ];
  const f = feeds.pack(batch, diffs, baselines);
  assertEquals(f.diffs.dims, [2, 1, 2, 2]);
  assertEquals([...f.diffs.data as Float32Array], [12, 12, 12, 12, 10, 10, 10, 10]);
  assertEquals([...f.baselines.data as Float32Array].slice(0, 4), [22, 22, 22, 22]);
  assertEquals([...f.index.data as BigInt64Array], [0n, 1n, 0n]);
  assertEquals([...f.cls.data as BigInt64Array], [3n, 1n, 0n]);
  assertEquals(f.masks.dims, [3, 1, 2, 2]);
  assertEquals(f.up_y, undefined, "no upsampling given: the full-resolution wrapper");
  // The next batch starts afresh: image 0 is its first.
  const next = [{ image: 0, mask: mask(1), cls: 0 }, { image: 1, mask: mask(1), cls: 0 }];
  const g = feeds.pack(next, diffs, baselines);
  assertEquals([...g.index.data as BigInt64Array], [0n, 1n]);
});

Deno.test("a lone mask runs as two identical rows; upsampling feeds ride along", () => {
  const up = upsampleFeeds(1, SHAPE, "bilinear");
  const f = new BatchFeeds(SHAPE, 8).pack(
    [{ image: 1, mask: mask(0.5), cls: 2 }],
    diffs,
    baselines,
    up,
  );
  assertEquals(f.masks.dims, [2, 1, 2, 2]);
  assertEquals([...f.masks.data as Float32Array], Array(8).fill(0.5));
  assertEquals([...f.index.data as BigInt64Array], [0n, 0n]);
  assertEquals([...f.cls.data as BigInt64Array], [2n, 2n]);
  assertEquals(f.up_y.dims, [2, 1]);
  assertEquals(f.up_xt.dims, [1, 2]);
});

Deno.test("timing feeds: a full batch of masks over the first images", () => {
  const f = timingFeeds(5, SHAPE, diffs, baselines, 3);
  assertEquals(f.diffs.dims, [3, 1, 2, 2]);
  assertEquals([...f.index.data as BigInt64Array], [0n, 1n, 2n, 0n, 1n]);
  assertEquals(f.masks.dims, [5, 1, 3, 3]);
});
