/**
 * Opens the rendered report.html in real headless Chromium: the page must work offline, draw every
 * figure, show the tables, and show a hostile label as text without running it. Chromium is driven
 * over the DevTools Protocol (tests/cdp.ts), so the test runs under `deno task test`'s scoped
 * permissions (--allow-net=127.0.0.1), not only under --allow-all.
 */
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { renderReport } from "../report/render.ts";
import { validateReportInput } from "../report/input.ts";
import { assert, assertEquals } from "./assert.ts";
import { type CdpSession, Chromium } from "./cdp.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
if (!hasChromium) console.warn(`report_browser_test: skipped, ${CHROMIUM} is absent`);

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const HOSTILE = "<script>alert(1)</script>";
const FIGURES_TIMEOUT_MS = 60_000;

/** textContent of every element matching `selector` (what Playwright's allTextContents gives). */
function texts(page: CdpSession, selector: string): Promise<string[]> {
  return page.evaluate<string[]>(
    `Array.from(document.querySelectorAll(${
      JSON.stringify(selector)
    }), (e) => e.textContent ?? "")`,
  );
}

function count(page: CdpSession, selector: string): Promise<number> {
  return page.evaluate<number>(`document.querySelectorAll(${JSON.stringify(selector)}).length`);
}

interface Drawn {
  name: string;
  kind: string | null;
  width: number;
  height: number;
  parts: number;
}

/** For every figure container: its first svg/canvas, that element's size and content. */
const DRAWN = `Array.from(document.querySelectorAll(".xc-vis"), (el) => {
  const d = el.querySelector("svg, canvas");
  const r = d ? d.getBoundingClientRect() : { width: 0, height: 0 };
  const parts = !d ? 0 : d.tagName.toLowerCase() === "svg"
    ? d.querySelectorAll("path, rect, line, text, circle, image, g").length
    : d.width * d.height;
  return { name: el.getAttribute("data-fig"), kind: d ? d.tagName.toLowerCase() : null,
    width: r.width, height: r.height, parts };
})`;

Deno.test({
  name: "report.html renders offline in headless Chromium",
  ignore: !hasChromium,
  fn: async () => {
    const input = validateReportInput(
      JSON.parse(await Deno.readTextFile(join(ROOT, "tests/fixtures/report_input.json"))),
    );
    const out = await Deno.makeTempDir({ prefix: "xcompare-report-" });
    const errors: string[] = [];
    const dialogs: string[] = [];
    const network: string[] = [];
    const files: string[] = [];
    let chrome: Chromium | undefined;
    try {
      const result = await renderReport(input, out);
      chrome = await Chromium.launch({ executable: CHROMIUM });
      const page = await chrome.newPage();
      page.on("Runtime.consoleAPICalled", (p) => {
        if (p.type !== "error") return;
        // deno-lint-ignore no-explicit-any
        const text = (p.args ?? []).map((a: any) => a.value ?? a.description ?? a.type).join(" ");
        errors.push(`console: ${text}`);
      });
      page.on("Log.entryAdded", (p) => {
        if (p.entry?.level === "error") errors.push(`log: ${p.entry.text} ${p.entry.url ?? ""}`);
      });
      page.on("Runtime.exceptionThrown", (p) => {
        const d = p.exceptionDetails ?? {};
        errors.push(`pageerror: ${d.exception?.description ?? d.text}`);
      });
      page.on("Page.javascriptDialogOpening", (p) => {
        dialogs.push(`${p.type}: ${p.message}`);
        page.send("Page.handleJavaScriptDialog", { accept: false }).catch(() => {});
      });
      page.on("Network.requestWillBeSent", (p) => {
        const url: string = p.request?.url ?? "";
        (url.startsWith("file:") ? files : network).push(url);
      });
      await Promise.all(
        ["Page.enable", "Runtime.enable", "Log.enable", "Network.enable"].map((m) => page.send(m)),
      );
      await page.send("Emulation.setDeviceMetricsOverride", {
        width: 1280,
        height: 900,
        deviceScaleFactor: 1,
        mobile: false,
      });
      await page.send("Emulation.setScrollbarsHidden", { hidden: true });

      const href = pathToFileURL(join(out, "report.html")).href;
      const loaded = page.waitFor("Page.loadEventFired", undefined, FIGURES_TIMEOUT_MS);
      files.length = 0;
      const nav = await page.send("Page.navigate", { url: href });
      assert(!nav.errorText, `navigating to ${href}: ${nav.errorText}`);
      await loaded;
      await page.waitUntil(
        `document.body && document.body.getAttribute("data-figures") === "done"`,
        FIGURES_TIMEOUT_MS,
      ).catch((e) => {
        throw new Error(`${(e as Error).message}; page errors: ${errors.join(" | ")}`);
      });

      // Every figure drew an svg (or canvas) of non-zero size with content, and none failed.
      const names = result.derived.figures;
      assert(names.length >= 7, `expected all 7 figures, got ${names.join(", ")}`);
      const failed = await texts(page, ".xc-error");
      assertEquals(failed, [], `figures failed; page errors: ${errors.join(" | ")}`);
      const drawn = await page.evaluate<Drawn[]>(DRAWN);
      assertEquals(drawn.map((d) => d.name).sort(), [...names].sort(), "figure containers");
      for (const d of drawn) {
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

      // The listeners are live: the document's own request was seen, and a console call arrives.
      assert(files.includes(href), `Network.requestWillBeSent never reported ${href}`);
      const probe = page.waitFor(
        "Runtime.consoleAPICalled",
        (p) => p.args?.[0]?.value === "xc-cdp-probe",
        5_000,
      );
      await page.evaluate(`console.info("xc-cdp-probe")`);
      await probe;

      // Full-page screenshot.
      const metrics = await page.send("Page.getLayoutMetrics");
      const size = metrics.cssContentSize ?? metrics.contentSize;
      const shot = await page.send("Page.captureScreenshot", {
        format: "png",
        captureBeyondViewport: true,
        clip: { x: 0, y: 0, width: size.width, height: size.height, scale: 1 },
      }, FIGURES_TIMEOUT_MS);
      const png = Uint8Array.from(atob(shot.data), (c) => c.charCodeAt(0));
      assertEquals([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], "screenshot is not a PNG");
      await Deno.mkdir(join(ROOT, ".test-out"), { recursive: true });
      await Deno.writeFile(join(ROOT, ".test-out/report.png"), png);
    } finally {
      await chrome?.close();
      await Deno.remove(out, { recursive: true }).catch(() => {});
    }
    assertEquals(errors, [], "console or page errors");
    assertEquals(dialogs, [], "a dialog fired");
    assertEquals(network, [], "the page tried to reach the network");
  },
});
