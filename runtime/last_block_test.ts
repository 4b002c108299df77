import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import { channelMaxima, type LastBlock, lastBlockFromCard, layoutOf } from "./last_block.ts";

/** `fn` throws an error whose message contains `text` (taken literally, brackets and all). */
function throwsWith(fn: () => unknown, text: string): void {
  const e = assertThrows(fn);
  assert(e.message.includes(text), `error ${JSON.stringify(e.message)} lacks ${text}`);
}

/** [n, c, h, w] values, each distinct, in NCHW order. */
function nchw(n: number, c: number, h: number, w: number): Float32Array {
  const x = new Float32Array(n * c * h * w);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898) * 43758.5453 % 1;
  return x;
}

/** The same tensor with its channels last: [n, h, w, c]. */
function toNhwc(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < h * w; p++) y[(i * h * w + p) * c + ch] = x[(i * c + ch) * h * w + p];
    }
  }
  return y;
}

Deno.test("channelMaxima: NCHW maxima by hand", () => {
  // n=1, c=2, 1x2: channel 0 = [1, 5], channel 1 = [-3, -2].
  const x = Float32Array.of(1, 5, -3, -2);
  assertEquals([...channelMaxima(x, [1, 2, 1, 2], "NCHW")], [5, -2]);
  // The same four numbers read channels-last: positions [1, 5] and [-3, -2], channels (1,-3), (5,-2).
  assertEquals([...channelMaxima(x, [1, 1, 2, 2], "NHWC")], [1, 5]);
});

Deno.test("channelMaxima: NHWC of a transposed tensor equals NCHW of the original", () => {
  const [n, c, h, w] = [3, 5, 4, 2];
  const x = nchw(n, c, h, w);
  const a = channelMaxima(x, [n, c, h, w], "NCHW");
  const b = channelMaxima(toNhwc(x, n, c, h, w), [n, h, w, c], "NHWC");
  assertEquals(a.length, n * c);
  assertEquals([...b], [...a]);
  // Read as NCHW, the channels-last tensor gives h channels: the bug of issue 18.
  assertEquals(channelMaxima(toNhwc(x, n, c, h, w), [n, h, w, c], "NCHW").length, n * h);
});

Deno.test("channelMaxima: NTD maxima over tokens, NC unchanged, rank checked", () => {
  // n=1, T=3, D=2: tokens (1,9), (4,2), (7,3).
  assertEquals([...channelMaxima(Float32Array.of(1, 9, 4, 2, 7, 3), [1, 3, 2], "NTD")], [7, 9]);
  assertEquals([...channelMaxima(Float32Array.of(1, 2, 3, 4), [2, 2], "NC")], [1, 2, 3, 4]);
  assertThrows(() => channelMaxima(new Float32Array(8), [1, 2, 4], "NHWC"), "rank 3");
});

Deno.test("lastBlockFromCard: layouts, shapes, missing and old free-text values", () => {
  const at = "models/x.json";
  assertEquals(lastBlockFromCard(null, at), null);
  assertEquals(lastBlockFromCard({ id: "x" }, at), null);
  assertEquals(
    lastBlockFromCard({
      last_block_tensor: "last_block",
      last_block_layout: "NHWC",
      last_block_shape: ["batch", 7, 7, 768],
    }, at),
    { tensor: "last_block", layout: "NHWC", shape: [7, 7, 768] },
  );
  assertEquals(lastBlockFromCard({ last_block_tensor: "t" }, at), {
    tensor: "t",
    layout: null,
    shape: null,
  });
  throwsWith(
    () => lastBlockFromCard({ last_block_tensor: "t", last_block_layout: "NCHW [N,7,7,768]" }, at),
    `${at}: last_block_layout "NCHW [N,7,7,768]" is the old free-text form`,
  );
  throwsWith(
    () => lastBlockFromCard({ last_block_tensor: "t", last_block_layout: "nhwc" }, at),
    `${at}: last_block_layout: expected one of NCHW, NHWC, NTD, NC`,
  );
  throwsWith(
    () =>
      lastBlockFromCard({
        last_block_tensor: "t",
        last_block_layout: "NTD",
        last_block_shape: ["batch", 7, 7, 768],
      }, at),
    `${at}: last_block_shape has rank 4, layout NTD rank 3`,
  );
  throwsWith(
    () => lastBlockFromCard({ last_block_tensor: "t", last_block_shape: ["batch", 0] }, at),
    `${at}: last_block_shape: expected`,
  );
});

Deno.test("layoutOf: the card's layout checked against the tensor; rank decides without one", () => {
  const at = "model swin (swin.json)";
  const stated: LastBlock = { tensor: "last_block", layout: "NHWC", shape: [7, 7, 768] };
  assertEquals(layoutOf(stated, [4, 7, 7, 768], at), "NHWC");
  throwsWith(
    () => layoutOf(stated, [4, 768, 7, 7], at),
    `${at}: tensor last_block is [N,768,7,7], but the card's last_block_shape says [N,7,7,768]`,
  );
  throwsWith(
    () => layoutOf(stated, [4, 49, 768], at),
    "the card's last_block_layout NHWC has rank 4",
  );
  const bare: LastBlock = { tensor: "t", layout: null, shape: null };
  assertEquals(layoutOf(bare, [2, 48, 7, 7], at), "NCHW");
  assertEquals(layoutOf(bare, [2, 49, 48], at), "NTD");
  assertEquals(layoutOf(bare, [2, 48], at), "NC");
  throwsWith(() => layoutOf(bare, [2, 1, 2, 3, 4], at), "Fig. 5 reads ranks 2 to 4");
});
