/**
 * Debian's Chromium for the browser tests, driven by puppeteer-core. puppeteer-core runs under
 * `deno task test`'s scoped permissions (--allow-net=127.0.0.1 reaches its DevTools socket);
 * playwright-core does not: when it loads it checks /proc/sys/fs/binfmt_misc/WSLInterop, which
 * Deno 2.9 allows only under --allow-all ("NotCapable: Requires all access to ...").
 */
import puppeteer, { type Browser } from "puppeteer-core";

export const CHROMIUM = "/usr/bin/chromium";

/** Whether the browser tests can run here; they are skipped, with a warning, where it is absent. */
export function hasChromium(test: string): boolean {
  try {
    if (Deno.statSync(CHROMIUM).isFile) return true;
  } catch { /* absent */ }
  console.warn(`${test}: skipped, ${CHROMIUM} is absent`);
  return false;
}

/**
 * Flags for a closed network: without the background-networking ones Chromium keeps dialling
 * Google's hosts. puppeteer adds --headless and its own defaults.
 */
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-quic",
  "--disable-sync",
];

/** A headless Chromium on a fresh profile; `close` stops it and removes the profile. */
export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const profile = await Deno.makeTempDir({ prefix: "xcompare-chromium-" });
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    userDataDir: profile,
    // The test runner, not puppeteer, owns the process's signals.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  }).catch(async (e) => {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    throw e;
  });
  return {
    browser,
    async close() {
      await browser.close();
      await Deno.remove(profile, { recursive: true });
    },
  };
}
