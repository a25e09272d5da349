import { chromium, type Browser, type Page } from "playwright-core";

/**
 * Debian's Chromium (apt package `chromium`), driven by playwright-core:
 * never a downloaded browser. Flags keep it quiet and offline.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.BURROW_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    timeout: 60_000, // a loaded machine starts it slowly
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A page of a fresh browser context, signed in to the dashboard of `srv` (through its sign-in link). */
export async function signedInPage(browser: Browser, srv: { url: string; token: string }, viewport = { width: 1360, height: 900 }): Promise<Page> {
  const page = await (await browser.newContext({ viewport })).newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(`${srv.url}/login?token=${encodeURIComponent(srv.token)}`);
  return page;
}
