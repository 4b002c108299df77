/**
 * A reader opens the rendered report.html in headless Chromium: the page works offline, draws every
 * figure, shows the tables, shows a hostile label as text without running it, unfolds the config
 * and a figure's export menu when they are clicked, and fires no dialog and no network request.
 */
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Page } from "puppeteer-core";
import { renderReport } from "../report/render.ts";
import { validateReportInput } from "../report/input.ts";
import { assert, assertEquals } from "./assert.ts";
import { hasChromium, launchChromium } from "./chromium.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const HOSTILE = "<script>alert(1)</script>";
const FIGURES_TIMEOUT_MS = 60_000;

/** textContent of every element matching `selector`. */
function texts(page: Page, selector: string): Promise<string[]> {
  return page.$$eval(selector, (els) => els.map((e) => e.textContent ?? ""));
}

function count(page: Page, selector: string): Promise<number> {
  return page.$$eval(selector, (els) => els.length);
}

/** Whether the first element matching `selector` is rendered (not inside a closed <details>). */
function visible(page: Page, selector: string): Promise<boolean> {
  return page.$eval(selector, (e) => e.checkVisibility());
}

interface Drawn {
  name: string | null;
  kind: string | null;
  width: number;
  height: number;
  parts: number;
}

/** For every figure container: its first svg/canvas, that element's size and content. */
function drawn(page: Page): Promise<Drawn[]> {
  return page.$$eval(".xc-vis", (els) =>
    els.map((el) => {
      const d = el.querySelector("svg, canvas");
      const kind = d ? d.tagName.toLowerCase() : null;
      const r = d ? d.getBoundingClientRect() : { width: 0, height: 0 };
      const canvas = d as unknown as { width: number; height: number };
      const parts = !d
        ? 0
        : kind === "svg"
        ? d.querySelectorAll("path, rect, line, text, circle, image, g").length
        : canvas.width * canvas.height;
      return {
        name: el.getAttribute("data-fig"),
        kind,
        width: r.width,
        height: r.height,
        parts,
      };
    }));
}

Deno.test({
  name: "report.html renders offline in headless Chromium",
  ignore: !hasChromium("report_browser_test"),
  fn: async () => {
    const input = validateReportInput(
      JSON.parse(await Deno.readTextFile(join(ROOT, "tests/fixtures/report_input.json"))),
    );
    const out = await Deno.makeTempDir({ prefix: "xcompare-report-" });
    const errors: string[] = [];
    const dialogs: string[] = [];
    const network: string[] = [];
    const files: string[] = [];
    const chromium = await launchChromium();
    try {
      const result = await renderReport(input, out);
      const page = await chromium.browser.newPage();
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(`console: ${m.text()} ${m.location().url ?? ""}`);
      });
      page.on("pageerror", (e) => errors.push(`pageerror: ${(e as Error).message ?? e}`));
      page.on("dialog", (d) => {
        dialogs.push(`${d.type()}: ${d.message()}`);
        d.dismiss().catch(() => {});
      });
      page.on("request", (r) => (r.url().startsWith("file:") ? files : network).push(r.url()));
      await page.setViewport({ width: 1280, height: 900, deviceScaleFactor: 1 });

      // Open the report and wait until its script says every figure is done.
      const href = pathToFileURL(join(out, "report.html")).href;
      await page.goto(href, { waitUntil: "load", timeout: FIGURES_TIMEOUT_MS });
      await page.waitForSelector('body[data-figures="done"]', { timeout: FIGURES_TIMEOUT_MS })
        .catch((e) => {
          throw new Error(`${(e as Error).message}; page errors: ${errors.join(" | ")}`);
        });

      // Every figure drew an svg (or canvas) of non-zero size with content, and none failed.
      const names = result.derived.figures;
      assert(names.length >= 7, `expected all 7 figures, got ${names.join(", ")}`);
      const failed = await texts(page, ".xc-error");
      assertEquals(failed, [], `figures failed; page errors: ${errors.join(" | ")}`);
      const figures = await drawn(page);
      assertEquals(figures.map((d) => d.name).sort(), [...names].sort(), "figure containers");
      for (const d of figures) {
        assert(d.kind !== null, `figure ${d.name} has no svg/canvas`);
        assert(d.width > 0 && d.height > 0, `figure ${d.name} has zero size`);
        assert(d.parts > 0, `figure ${d.name}: its ${d.kind} is empty`);
      }

      // Tables hold the fixture's models, in order.
      const table1 = await texts(page, "#tbl-table1 tbody tr td:first-child");
      assertEquals(table1, input.table1!.map((r) => r.model));
      const models = await texts(page, "#tbl-models tbody tr td:first-child");
      assertEquals(models, input.provenance!.models.map((m) => m.id));
      assertEquals(await count(page, "#tbl-verdicts tbody tr"), 4);

      // The hostile group label is text, not markup.
      const groups = await texts(page, "#tbl-models tbody tr td:nth-child(2)");
      assert(groups.some((g) => g.includes(HOSTILE)), "hostile label not shown as text");
      assertEquals(await count(page, "section script, table script, figure script"), 0);
      const fig3Text = await texts(page, '.xc-vis[data-fig="fig3-insertion"] svg text');
      assert(fig3Text.some((t) => t.includes(HOSTILE)), "hostile class label not drawn as text");
      const scripts = await count(page, "script");
      assertEquals(scripts, 5, "only the specs JSON, three libraries and the main script");

      // Click the config's summary: the run's config unfolds.
      const config = "section > details";
      assertEquals(await visible(page, `${config} pre`), false, "config shown before the click");
      await page.click(`${config} > summary`);
      assertEquals(await visible(page, `${config} pre`), true, "config hidden after the click");
      const shown = JSON.parse((await texts(page, `${config} pre`))[0]);
      assertEquals(shown, input.provenance!.config);

      // Click the landscape's "..." button: its export menu opens.
      const menu = '.xc-vis[data-fig="fig6-landscape"] details';
      assertEquals(await visible(page, `${menu} a`), false, "export menu shown before the click");
      await page.click(`${menu} > summary`);
      assertEquals(await visible(page, `${menu} a`), true, "export menu hidden after the click");
      assertEquals(await texts(page, `${menu} a`), ["Save as SVG", "Save as PNG"]);

      // The listeners are live: the document's own request was seen, and a console call arrives.
      assert(files.includes(href), `the request listener never saw ${href}`);
      const probe = new Promise<void>((resolve) => {
        page.on("console", (m) => {
          if (m.text() === "xc-probe") resolve();
        });
      });
      await page.evaluate(() => console.info("xc-probe"));
      await probe;

      // Full-page screenshot.
      const png = await page.screenshot({ type: "png", fullPage: true });
      assertEquals([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], "screenshot is not a PNG");
      await Deno.mkdir(join(ROOT, ".test-out"), { recursive: true });
      await Deno.writeFile(join(ROOT, ".test-out/report.png"), png);
    } finally {
      await chromium.close();
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
    assertEquals(errors, [], "console or page errors");
    assertEquals(dialogs, [], "a dialog fired");
    assertEquals(network, [], "the page tried to reach the network");
  },
});
