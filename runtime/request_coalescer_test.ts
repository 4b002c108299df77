import { setImmediate } from "node:timers";
import { Rng } from "../lib/rng.ts";
import { assert, assertEquals, assertRejects } from "../tests/assert.ts";
import { Coalescer } from "./request_coalescer.ts";

/** A request of the fake runner: its key, and a value the result is computed from. */
interface Req {
  key: number;
  value: number;
}

/** The fake runner's answer for one request. */
const answer = (r: Req) => r.value * 2 + r.key;

/**
 * A coalescer over a fake runner that answers after a macrotask (as onnxruntime-node does) and
 * records each batch; a request with value -1 fails its batch.
 */
function fake(batchSize: number, maxQueued = 1 << 20) {
  const batches: Req[][] = [];
  let running = 0;
  const coalescer = new Coalescer<Req>({
    batchSize,
    maxQueued,
    keyOf: (r) => r.key,
    run: async (key, requests) => {
      assertEquals(running, 0, "one batch at a time");
      assert(requests.every((r) => r.key === key), "one key per batch");
      running++;
      batches.push([...requests]);
      await new Promise((r) => setImmediate(r));
      running--;
      if (requests.some((r) => r.value === -1)) return new Error("device lost");
      return Float32Array.from(requests, answer);
    },
  });
  return { coalescer, batches };
}

function requests(rng: Rng, n: number, keys: number[]): Req[] {
  return Array.from(
    { length: n },
    () => ({ key: keys[rng.int(keys.length)], value: rng.int(1000) }),
  );
}

Deno.test("same-tick callers get their own results, in order, from shared full batches", async () => {
  const { coalescer, batches } = fake(32);
  const rng = new Rng(7);
  const calls = Array.from({ length: 24 }, () => requests(rng, 1 + rng.int(20), [49, 784]));
  const results = await Promise.all(calls.map((c) => coalescer.submit(c)));
  calls.forEach((c, i) => assertEquals([...results[i]], c.map(answer), `call ${i}`));
  const all = calls.flat();
  const small = all.filter((r) => r.key === 49).length;
  assertEquals(batches.length, Math.ceil(small / 32) + Math.ceil((all.length - small) / 32));
  assert(batches.every((b) => b.length <= 32));
  assertEquals(await coalescer.submit([]), new Float32Array(0));
});

Deno.test("callers that keep asking are pipelined into full batches", async () => {
  const { coalescer, batches } = fake(16);
  const rng = new Rng(8);
  const loops = Array.from({ length: 16 }, async () => {
    for (let step = 0; step < 5; step++) {
      const reqs = requests(rng, 4, [49]);
      assertEquals([...await coalescer.submit(reqs)], reqs.map(answer));
    }
  });
  await Promise.all(loops);
  assertEquals(batches.map((b) => b.length), Array(20).fill(16), "every batch full");
});

Deno.test("a partial batch runs after a macrotask; the queue stays under its cap", async () => {
  const { coalescer, batches } = fake(8, 12);
  const few = requests(new Rng(1), 3, [49]);
  assertEquals([...await coalescer.submit(few)], few.map(answer));
  assertEquals(batches.map((b) => b.length), [3]);
  const reqs = requests(new Rng(2), 40, [49]);
  const [a, b] = await Promise.all([coalescer.submit(reqs), coalescer.submit(reqs.slice(0, 30))]);
  assertEquals([...a], reqs.map(answer));
  assertEquals([...b], reqs.slice(0, 30).map(answer));
  assert(coalescer.peakQueued <= 12, `peak ${coalescer.peakQueued}`);
  coalescer.resetPeakQueued();
  assertEquals(coalescer.peakQueued, 0);
});

Deno.test("a failed batch rejects the callers in it; the others and later calls go on", async () => {
  const { coalescer } = fake(4);
  const good = [{ key: 1, value: 1 }, { key: 1, value: 2 }];
  const bad = [{ key: 1, value: 3 }, { key: 1, value: -1 }];
  const other = [{ key: 2, value: 5 }];
  const [g, b, o] = await Promise.allSettled([
    coalescer.submit(good),
    coalescer.submit(bad),
    coalescer.submit(other),
  ]);
  assertEquals(g.status, "rejected", "shared the failed batch");
  assertEquals(b.status, "rejected");
  assertEquals(o.status === "fulfilled" && [...o.value], [answer(other[0])]);
  await assertRejects(() => coalescer.submit(bad), /device lost/);
  assertEquals([...await coalescer.submit(good)], good.map(answer));
});
