import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium, signedInPage } from "./helpers/browser.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";
import { VERSION } from "../src/lib/version.js";

const SHOTS = process.env.BURROW_SCREENSHOTS; // a directory: save a screenshot of the Server view there
const PACKAGE = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

/** In Chromium: the Server view says which Burrow runs, for how long, and which images sandboxes start from. */
describe("the dashboard's Server view", () => {
  let srv: TestServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    [srv, browser] = await Promise.all([startTestServer(), launchChromium()]);
    page = await signedInPage(browser, srv);
  });
  after(async () => {
    await browser?.close();
    await srv?.cleanup();
  });

  it("shows the version, the uptime and the images with the sandboxes using each", async () => {
    assert.equal(VERSION, PACKAGE.version, "src/lib/version.ts follows package.json");
    await srv.api("PUT", `/v1/sandboxes/${name("srv")}`, {});
    await page.locator(".side-nav a", { hasText: "Server" }).click();
    const card = (label: string) => page.locator(".card", { has: page.locator(".card-label", { hasText: new RegExp(`^${label}$`, "i") }) }).locator(".card-value");
    await card("Version").filter({ hasText: PACKAGE.version }).waitFor();
    await card("Uptime").filter({ hasText: /^\d+ min$/ }).waitFor();
    await page.locator("[data-server-about]", { hasText: `Burrow ${PACKAGE.version} on Node ${process.version}` }).waitFor();
    const row = page.locator('tr[data-image="default"]');
    await row.waitFor();
    const cells = await row.locator("td").allInnerTexts();
    assert.match(cells[1]!, /^[0-9a-f]{12}$|^legacy$/, "the image's version id");
    assert.equal(cells[4], "1", "one sandbox uses it");
    if (SHOTS) await page.screenshot({ path: join(SHOTS, "server.png"), fullPage: true });

    const info = (await (await srv.api("GET", "/v1/server")).json()) as { version: string; uptimeSeconds: number; images: { name: string }[] };
    assert.equal(info.version, PACKAGE.version);
    assert.ok(info.uptimeSeconds >= 0);
    assert.ok(info.images.some((i) => i.name === "default"));
    assert.equal((await fetch(`${srv.url}/v1/server`)).status, 401, "not without a session or the token");
  });
});
