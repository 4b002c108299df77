/**
 * Keys name dataset files by content and by their path inside the dataset folder, never by where
 * the checkout lies: a run in one copy of the checkout, then a run in a second copy (another
 * folder, other file times) on the same store (XCOMPARE_ARTIFACTS) computes nothing. Also: status
 * on a fresh copy (no artifacts/, no reports/) works under the xcompare task's own flags.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import {
  checkoutCanRun,
  computed,
  copyCheckout,
  tinyConfig,
  writeDataset,
  xcompare,
} from "./checkout_copy.ts";

const STAGES = [
  "preprocess",
  "infer-baselines",
  "mse-search",
  "subtree-count",
  "igos-heatmaps",
  "cross-test",
  "kpca",
  "report",
];

Deno.test({
  name: "a moved checkout on the same store reuses every unit; status works on a fresh copy",
  ignore: !checkoutCanRun,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "xcompare-portable-" });
    try {
      const store = join(dir, "store");
      const [a, b] = [join(dir, "a"), join(dir, "moved", "elsewhere", "b")];
      for (const c of [a, b]) {
        await copyCheckout(c);
        await writeDataset(c, "tiny", 4);
        await Deno.writeTextFile(join(c, "configs/tiny.json"), JSON.stringify(tinyConfig("tiny")));
      }
      const cfg = ["--config", "configs/tiny.json"];

      // A fresh copy: no artifacts/, no reports/; the task's exact flags, no overrides.
      const fresh = await xcompare(a, ["status", ...cfg], { allowWrite: "artifacts,reports" });
      assertEquals(fresh.code, 0, fresh.text);
      assert(fresh.text.includes("(no earlier run)"), fresh.text);
      for (const s of STAGES) assert(new RegExp(`^${s}: STALE`, "m").test(fresh.text), fresh.text);

      const run = (c: string) =>
        xcompare(c, ["reproduce", ...cfg], {
          allowWrite: `${store},${join(c, "reports")}`,
          env: { XCOMPARE_ARTIFACTS: store, XCOMPARE_REPORTS: join(c, "reports") },
        });
      const first = await run(a);
      assertEquals(first.code, 0, first.text);
      assertEquals(computed(first.text, "preprocess"), 3, "two chunks and the listing");

      const moved = await run(b);
      assertEquals(moved.code, 0, moved.text);
      for (const s of STAGES) {
        assertEquals(computed(moved.text, s), 0, `${s} reused after the move`);
      }
      const results = (c: string) =>
        Deno.readTextFile(join(c, "reports", "latest", "results.json")).then(JSON.parse);
      const [ra, rb] = [await results(a), await results(b)];
      assertEquals(rb.input.table1, ra.input.table1, "the same numbers");
      assertEquals(rb.input.skipped_images, { count: 0, images: [] });

      // The store holds no path of either checkout.
      for await (const f of walk(store)) {
        const text = await Deno.readTextFile(f);
        assert(!text.includes(a) && !text.includes(b), `${f} names a checkout path`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Every JSON or JSONL file under `dir`, but the store's own cache of file hashes by path. */
async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* walk(p);
    else if (/\.jsonl?$/.test(e.name) && e.name !== ".file-hashes.json") yield p;
  }
}
