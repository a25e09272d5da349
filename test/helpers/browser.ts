import { chromium, type Browser } from "playwright-core";

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
