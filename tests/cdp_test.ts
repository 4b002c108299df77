/**
 * The DevTools client against real headless Chromium: commands, events, protocol errors, timeouts,
 * and a shutdown that leaves no process, socket or profile behind.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { Chromium, defaults, withTimeout } from "./cdp.ts";

const hasChromium = (() => {
  try {
    return Deno.statSync(defaults.executable).isFile;
  } catch {
    return false;
  }
})();
if (!hasChromium) console.warn(`cdp_test: skipped, ${defaults.executable} is absent`);

Deno.test("withTimeout rejects with the name of what timed out", async () => {
  await assertRejects(() => withTimeout(new Promise(() => {}), 10, "never"), /never: timed out/);
  assertEquals(await withTimeout(Promise.resolve(3), 1000, "now"), 3);
});

Deno.test({
  name: "CDP client drives headless Chromium and shuts it down cleanly",
  ignore: !hasChromium,
  fn: async () => {
    const chrome = await Chromium.launch();
    let profileGone = false;
    try {
      assert(chrome.port > 0, `port ${chrome.port}`);
      assert(chrome.browserUrl.startsWith(`ws://127.0.0.1:${chrome.port}/devtools/browser/`));
      const page = await chrome.newPage();
      await page.send("Runtime.enable");

      assertEquals(await page.evaluate<number>("6 * 7"), 42);
      assertEquals(await page.evaluate<string>("Promise.resolve('later')"), "later");
      await assertRejects(() => page.evaluate("null.x"), /Runtime.evaluate threw: TypeError/);
      await assertRejects(() => page.send("No.suchMethod"), /^No\.suchMethod: .*wasn.t found/);

      const seen: string[] = [];
      const off = page.on(
        "Runtime.consoleAPICalled",
        (p) => seen.push(`${p.type}:${p.args[0].value}`),
      );
      const next = page.waitFor("Runtime.consoleAPICalled", (p) => p.args[0].value === "b");
      await page.evaluate(`console.warn("a"); console.error("b")`);
      await next;
      off();
      await page.evaluate(`console.log("c")`);
      assertEquals(seen, ["warning:a", "error:b"]);

      await assertRejects(() => page.waitFor("Page.neverFired", undefined, 50), /timed out/);
      await assertRejects(() => page.waitUntil("false", 200), /waiting for false: timed out/);
    } finally {
      await chrome.close();
      profileGone = await Deno.stat(chrome.profile).then(() => false, () => true);
    }
    assert(profileGone, `profile ${chrome.profile} was not removed`);
  },
});
