/**
 * A run grows: raising the per-image stages' `images` computes only the chunks it adds and keeps
 * every finished one (a unit's key carries its own image count, not the stage's), and lowering it
 * again computes nothing but makes reports/latest that run's report again; latest holds every file
 * of its run's folder (run.json too). The first chunk's
 * numbers stay what they were.
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

const PER_IMAGE = ["mse-search", "subtree-count", "igos-heatmaps", "cross-test"];

Deno.test({
  name: "raising a stage's image count adds chunks and keeps the finished ones",
  ignore: !checkoutCanRun,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "xcompare-grow-" });
    try {
      await copyCheckout(dir);
      await writeDataset(dir, "tiny", 4);
      await Deno.writeTextFile(join(dir, "configs/tiny.json"), JSON.stringify(tinyConfig("tiny")));
      const run = (images: number) =>
        xcompare(dir, [
          "reproduce",
          "--config",
          "configs/tiny.json",
          ...PER_IMAGE.filter((s) => s !== "subtree-count").flatMap((s) => [
            "--set",
            `${s}.images=${images}`,
          ]),
        ], { allowWrite: "artifacts,reports" });
      const table1 = () =>
        Deno.readTextFile(join(dir, "reports", "latest", "results.json"))
          .then((t) => JSON.parse(t).input.table1);

      const small = await run(2);
      assertEquals(small.code, 0, small.text);
      const latest = join(dir, "reports", "latest");
      const runDir = /^report: (\S+)\/report\.md/m.exec(small.text)![1];
      for await (const e of Deno.readDir(join(dir, runDir))) {
        assert((await Deno.stat(join(latest, e.name))).isFile === e.isFile, `latest/${e.name}`);
      }
      assert((await Deno.stat(join(latest, "run.json"))).isFile, "latest/run.json");
      for (const s of PER_IMAGE) assertEquals(computed(small.text, s), 1, `${s}: one chunk`);
      const smallTable = await table1();

      const grown = await run(4);
      assertEquals(grown.code, 0, grown.text);
      for (const s of PER_IMAGE) {
        assertEquals(computed(grown.text, s), 1, `${s}: only the added chunk`);
      }

      const back = await run(2);
      assertEquals(back.code, 0, back.text);
      const cached = /^(\d+)\/(\d+) units cached; report unchanged$/m.exec(back.text);
      assert(cached && cached[1] === cached[2], `every unit reused:\n${back.text}`);
      assert(back.text.includes("(copied to reports/latest)"), back.text);
      assertEquals(await table1(), smallTable, "the first chunk's numbers, as before");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
