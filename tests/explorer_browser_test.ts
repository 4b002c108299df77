/**
 * A reader uses report.html's per-image explorer in headless Chromium: it opens on a model and an
 * image and draws their MSEs, trees (edges, the removed patch in red), heatmap, curves and the
 * cross-testing table; choosing another model, another image or another step redraws what depends
 * on it. Also: wide tables fit or scroll at 1400 px, the warnings and the glossary are shown, and
 * nothing reaches the network.
 */
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Page } from "puppeteer-core";
import { renderReport } from "../report/render.ts";
import { validateReportInput } from "../report/input.ts";
import { assert, assertEquals, assertNotEquals } from "./assert.ts";
import { hasChromium, launchChromium } from "./chromium.ts";
import { explorerFixture } from "./fixtures/explorer_fixture.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const TIMEOUT_MS = 60_000;

/** What the explorer shows now, as plain values to compare between the reader's actions. */
interface Drawing {
  state: string | null;
  summary: string;
  mseTiles: number;
  heatmap: string;
  insertion: string;
  deletion: string;
  trees: { nodes: number; edges: number; removed: string[]; images: string[] }[];
  curves: string;
  rows: string[][];
  bold: string[];
  step: string;
}

function drawing(page: Page): Promise<Drawing> {
  return page.$eval("#xc-explorer", (root) => {
    const canvas = (id: string) => {
      const c = root.querySelector(`#${id}`) as unknown as { toDataURL(): string } | null;
      return c ? c.toDataURL() : "";
    };
    return {
      state: root.getAttribute("data-state"),
      summary: root.querySelector(".xc-ex-summary")?.textContent ?? "",
      mseTiles: root.querySelectorAll("#xc-ex-mse canvas").length,
      heatmap: canvas("xc-ex-heatmap"),
      insertion: canvas("xc-ex-masked-insertion"),
      deletion: canvas("xc-ex-masked-deletion"),
      trees: [...root.querySelectorAll("svg.xc-ex-tree")].map((svg) => ({
        nodes: svg.querySelectorAll(".xc-ex-node").length,
        edges: svg.querySelectorAll(".xc-ex-edges line").length,
        removed: [...svg.querySelectorAll("rect.xc-ex-removed")].map((r) =>
          `${r.getAttribute("x")},${r.getAttribute("y")},${r.getAttribute("stroke")}`
        ),
        images: [...svg.querySelectorAll("image")].map((i) => i.getAttribute("href") ?? ""),
      })),
      curves: [...root.querySelectorAll("#xc-ex-curves svg path")].map((p) => p.getAttribute("d"))
        .join("|"),
      rows: [...root.querySelectorAll("#xc-ex-cross-table tbody tr")].map((tr) =>
        [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")
      ),
      bold: [...root.querySelectorAll("#xc-ex-cross-table tr.xc-ex-self td:first-child")].map((
        td,
      ) => td.textContent ?? ""),
      step: root.querySelector(".xc-ex-steplabel")?.textContent ?? "",
    };
  });
}

/** Waits until the explorer has drawn `state` (model|image|step) and returns the drawing. */
async function drawn(page: Page, state: string): Promise<Drawing> {
  await page.waitForFunction(
    `(() => { const root = document.getElementById("xc-explorer");
      return root && (root.getAttribute("data-state") === ${JSON.stringify(state)} ||
        root.hasAttribute("data-error")); })()`,
    { timeout: TIMEOUT_MS },
  );
  const error = await page.$eval("#xc-explorer", (r) => r.getAttribute("data-error"));
  assertEquals(error, null, "the explorer failed");
  return await drawing(page);
}

Deno.test({
  name: "the per-image explorer redraws for the model, image and step a reader chooses",
  ignore: !hasChromium("explorer_browser_test"),
  fn: async () => {
    const input = validateReportInput(
      JSON.parse(await Deno.readTextFile(join(ROOT, "tests/fixtures/report_input.json"))),
    );
    const models = input.provenance!.models.map((m) => m.id);
    input.explorer = explorerFixture(models);
    // A tiny insertion AUC must not print as 0.000 (report/explorer.js fmt, as the tables).
    for (const m of models) input.explorer.cross!.entries[m]["img-a"].insertion_auc[0] = 0.00042;
    // img-b: for every model the blurred baseline alone reaches Ph, so nothing was searched.
    for (const m of models) {
      input.explorer.mse!.entries[m]["img-b"] = { mses: [], baselineSuffices: true, trees: [] };
    }
    input.warnings = [{ source: "kpca/all", message: "t - b = 0.05: ill-conditioned" }];
    const out = await Deno.makeTempDir({ prefix: "xcompare-explorer-" });
    const errors: string[] = [];
    const network: string[] = [];
    const chromium = await launchChromium();
    try {
      await renderReport(input, out);
      const page = await chromium.browser.newPage();
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(`console: ${m.text()}`);
      });
      page.on("pageerror", (e) => errors.push(`pageerror: ${(e as Error).message ?? e}`));
      page.on("request", (r) => {
        if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) network.push(r.url());
      });
      await page.setViewport({ width: 1400, height: 900, deviceScaleFactor: 1 });
      await page.goto(pathToFileURL(join(out, "report.html")).href, {
        waitUntil: "load",
        timeout: TIMEOUT_MS,
      });

      // It opens on the first model (family order) and the first image, at the default step.
      const firstModel = await page.$eval(
        "#xc-ex-model",
        (s) => (s as unknown as { value: string }).value,
      );
      const step0 = await page.$eval(
        "#xc-ex-step",
        (s) => (s as unknown as { value: string }).value,
      );
      const a = await drawn(page, `${firstModel}|img-a|${step0}`);
      assert(a.summary.includes(firstModel) && a.summary.includes("img-a"), a.summary);
      assertEquals(a.mseTiles, 2, "two MSE tiles");
      // One tree: a root, its 3 children, the first child's 3 children; an edge per non-root node.
      assertEquals(a.trees.map((t) => [t.nodes, t.edges]), [[7, 6]]);
      assertEquals(a.trees[0].removed.length, 6, "each non-root node outlines its removed patch");
      assert(a.trees[0].removed.every((r) => r.endsWith(",#e00000")), "removed patches in red");
      assert(a.heatmap.startsWith("data:image/png"), "heatmap canvas drawn");
      assert(a.curves.length > 0, "insertion and deletion curves drawn");
      assertEquals(a.rows.length, models.length, "a row per tested model");
      assertEquals(a.rows.find((r) => r[0] === models[0])![6], "0.00042");
      assertEquals(a.bold, [firstModel], "the chosen model's own row stands out");
      assert(/cells/.test(a.step), a.step);

      // Choose another model: everything about the model redraws.
      const other = models.find((m) => m !== firstModel)!;
      await page.select("#xc-ex-model", other);
      const b = await drawn(page, `${other}|img-a|${step0}`);
      assert(b.summary.includes(other), b.summary);
      assertNotEquals(b.heatmap, a.heatmap, "heatmap unchanged after choosing another model");
      assertNotEquals(b.trees[0].removed, a.trees[0].removed, "tree unchanged");
      assertNotEquals(b.insertion, a.insertion, "masked image unchanged");
      assertNotEquals(b.rows, a.rows, "cross-testing table unchanged");
      assertEquals(b.bold, [other]);

      // An image where the baseline suffices says so, not that the search found nothing.
      await page.select("#xc-ex-image", "img-b");
      await drawn(page, `${other}|img-b|${step0}`);
      const note = await page.$eval("#xc-ex-mse", (el) => el.textContent ?? "");
      assert(note.startsWith("Baseline suffices: the blurred image alone reaches r > Ph"), note);

      // Choose another image: the drawing follows it.
      await page.select("#xc-ex-image", "img-c");
      const c = await drawn(page, `${other}|img-c|${step0}`);
      assert(c.summary.includes("img-c") && c.summary.includes("class-2"), c.summary);
      assertNotEquals(c.heatmap, b.heatmap, "heatmap unchanged after choosing another image");
      assertNotEquals(c.trees[0].images, b.trees[0].images, "tree tiles unchanged");

      // Move the cross-testing step: more cells are revealed and every confidence moves.
      await page.$eval("#xc-ex-step", (s) => {
        (s as unknown as { value: string }).value = "30";
        s.dispatchEvent(new Event("input"));
      });
      const d = await drawn(page, `${other}|img-c|30`);
      assert(d.step.startsWith("480 of 784 cells"), d.step);
      assertNotEquals(d.insertion, c.insertion, "insertion image unchanged after a new step");
      assertNotEquals(d.deletion, c.deletion, "deletion image unchanged after a new step");
      assertNotEquals(d.rows.map((r) => r[4]), c.rows.map((r) => r[4]), "p (insertion) unchanged");
      assertEquals(d.heatmap, c.heatmap, "the heatmap does not depend on the step");

      // Wide tables fit the page at 1400 px or scroll inside their own box.
      const tables = await page.$$eval(".xc-table-wrap", (els) =>
        els.map((e) => ({
          id: e.querySelector("table")?.id ?? "",
          fits: e.scrollWidth <= e.clientWidth + 1,
          scrolls: (globalThis as unknown as {
            getComputedStyle(e: unknown): { overflowX: string };
          }).getComputedStyle(e).overflowX === "auto",
          inPage: e.getBoundingClientRect().right <= e.ownerDocument.documentElement.clientWidth,
        })));
      for (const t of tables) {
        assert(t.inPage && (t.fits || t.scrolls), `table ${t.id}: ${JSON.stringify(t)}`);
      }
      assert(tables.find((t) => t.id === "tbl-table1")?.fits, "Table 1 fits at 1400 px");

      // The run's warnings and the glossary are part of the page.
      const warnings = await page.$$eval(
        "#tbl-warnings tbody td",
        (t) => t.map((x) => x.textContent),
      );
      assertEquals(warnings, ["kpca/all", "t - b = 0.05: ill-conditioned"]);
      const terms = await page.$$eval(
        "#tbl-glossary tbody td:first-child",
        (t) => t.map((x) => x.textContent),
      );
      for (const term of ["MSE", "r (likelihood ratio)", "Ph", "tree vs unique count"]) {
        assert(terms.includes(term), `glossary lacks ${term}`);
      }

      await Deno.mkdir(join(ROOT, ".test-out"), { recursive: true });
      const shot = await page.$("#sec-explorer");
      await Deno.writeFile(
        join(ROOT, ".test-out/explorer.png"),
        await shot!.screenshot({ type: "png" }),
      );
    } finally {
      await chromium.close();
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
    assertEquals(errors, [], "console or page errors");
    assertEquals(network, [], "the page tried to reach the network");
  },
});
