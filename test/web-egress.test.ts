import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium, signedInPage } from "./helpers/browser.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

const SHOTS = process.env.BURROW_SCREENSHOTS; // a directory: save a screenshot of the egress tab there

/**
 * A person opens a sandbox's Egress tab in Chromium and changes what it may
 * reach: their own dev server on the host, a denied domain, a host bound to a
 * handler of the server's --config, the internet switch and the limits. What
 * the sandbox can then reach is read from its terminal in the same page.
 */
describe("editing a sandbox's egress rules in the dashboard", () => {
  let srv: TestServer;
  let browser: Browser;
  let page: Page;
  let dev: Server;
  let devPort: number;
  const id = name("egress-ui");

  before(async () => {
    dev = createServer((req, res) => res.end(`dev server ${req.url}`));
    devPort = await new Promise<number>((r) => dev.listen(0, "127.0.0.1", () => r((dev.address() as { port: number }).port)));
    [srv, browser] = await Promise.all([
      startTestServer({ args: ["--config", join(import.meta.dirname, "fixtures/egress-config.ts")], env: { TEST_API_SECRET: "unused", TEST_GIT_SECRET: "unused", TEST_S3_SECRET: "unused" } }),
      launchChromium(),
    ]);
    await srv.api("PUT", `/v1/sandboxes/${id}`, {});
    page = await signedInPage(browser, srv);
  });
  after(async () => {
    await browser?.close();
    await srv?.cleanup();
    dev?.close();
  });

  const tab = (t: string) => page.locator("nav.tabs a", { hasText: t }).click();
  /** Type a command into the sandbox's terminal and wait for a line of its output that matches. */
  const inTerminal = async (command: string, answer: RegExp) => {
    await tab("Terminal");
    await page.locator(".terminal-status.open").waitFor();
    await page.locator(".terminal-box").click();
    await page.keyboard.type(`${command}\n`);
    await page.locator(".xterm-rows > div", { hasText: answer }).waitFor();
  };
  const own = async () => ((await (await srv.api("GET", `/v1/sandboxes/${id}/egress`)).json()) as { own: Record<string, unknown> }).own;

  it("allows the sandbox to reach a host it was refused, from the Allow form", async () => {
    const devUrl = `http://host.burrow.internal:${devPort}`;
    await page.goto(`${srv.url}/sandboxes/${id}/terminal`);
    await inTerminal(`curl -s -o /dev/null -w 'first=%{http_code}\\n' ${devUrl}/a`, /^first=403$/);

    await tab("Egress");
    // The refusal is in the audit, with its reason.
    await page.locator("table tr", { hasText: `host.burrow.internal:${devPort}` }).filter({ hasText: "denied" }).first().waitFor();
    await page.locator('input[name="allow"]').fill(`host.burrow.internal:${devPort}`);
    await page.getByRole("button", { name: "Allow", exact: true }).click();
    await page.locator(`[data-rules="allow"] .chip[data-rule="host.burrow.internal:${devPort}"]`).waitFor();
    assert.equal(await page.locator('input[name="allow"]').inputValue(), "", "the field is cleared once the rule is saved");
    assert.deepEqual((await own()).allowedHosts, [`host.burrow.internal:${devPort}`]);

    await inTerminal(`curl -s ${devUrl}/b; echo`, /^dev server \/b$/);
  });

  it("denies a domain, binds a host to a handler, and removes a rule with its ×", async () => {
    await tab("Egress");
    await page.locator('input[name="deny"]').fill("*.blocked.example");
    await page.getByRole("button", { name: "Deny", exact: true }).click();
    await page.locator('[data-rules="deny"] .chip[data-rule="*.blocked.example"]').waitFor();

    // Bind a made-up host to the --config's "canned" handler: the handler answers for it.
    await page.locator('input[name="bind-host"]').fill("canned.example");
    await page.locator('select[name="handler"]').selectOption("canned");
    await page.getByRole("button", { name: "Bind" }).click();
    await page.locator('[data-binding="canned.example"]', { hasText: "canned.example → canned" }).waitFor();
    if (SHOTS) {
      await page.locator(".notice").first().waitFor({ state: "detached", timeout: 10_000 });
      await page.screenshot({ path: join(SHOTS, "egress.png") });
    }
    await inTerminal("curl -s http://canned.example/; echo", /^from the handler$/);
    await inTerminal("curl -s -o /dev/null -w 'blocked=%{http_code}\\n' http://api.blocked.example/", /^blocked=403$/);

    await tab("Egress");
    await page.getByRole("button", { name: `Remove host.burrow.internal:${devPort}` }).click();
    await page.locator(`[data-rules="allow"] .chip[data-rule="host.burrow.internal:${devPort}"]`).waitFor({ state: "detached" });
    const o = await own();
    assert.deepEqual(o.allowedHosts, []);
    assert.deepEqual(o.deniedHosts, ["*.blocked.example"], "removing one rule keeps the others");
    assert.deepEqual(o.byHost, { "canned.example": "canned" });
  });

  it("turns the internet off and sets limits; the server's defaults come back when a field is emptied", async () => {
    await page.locator('select[name="internet"]').selectOption("off");
    await page.locator('select[name="internet"]').filter({ has: page.locator('option[value="off"]:checked') }).waitFor();
    assert.equal((await own()).internet, false);
    await inTerminal("curl -s -o /dev/null -w 'offline=%{http_code}\\n' http://198.51.100.7/", /^offline=403$/);

    await tab("Egress");
    await page.locator('input[name="maxConnections"]').fill("12");
    await page.locator('input[name="bandwidthKBps"]').fill("512");
    await page.getByRole("button", { name: "Apply limits" }).click();
    await page.locator(".notice", { hasText: "Egress settings saved" }).last().waitFor();
    let info = (await (await srv.api("GET", `/v1/sandboxes/${id}/egress`)).json()) as { maxConnections: number; bandwidthKBps: number | null; internet: boolean };
    assert.equal(info.maxConnections, 12);
    assert.equal(info.bandwidthKBps, 512);

    await page.locator('input[name="maxConnections"]').fill("");
    await page.getByRole("button", { name: "Apply limits" }).click();
    await page.locator('select[name="internet"]').selectOption("default");
    await page.locator('select[name="internet"]').filter({ has: page.locator('option[value="default"]:checked') }).waitFor();
    for (const t = Date.now(); Date.now() - t < 5000; ) {
      info = (await (await srv.api("GET", `/v1/sandboxes/${id}/egress`)).json()) as typeof info;
      if (info.internet && info.maxConnections === 256) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(info.maxConnections, 256, "the server's default limit");
    assert.equal(info.internet, true, "the server's default: on");
    assert.equal(info.bandwidthKBps, 512, "the field left filled stays");
  });

  it("says what is wrong with a rule the server refuses, and changes nothing", async () => {
    const before = await own();
    await page.locator('input[name="allow"]').fill("not a host!");
    await page.getByRole("button", { name: "Allow", exact: true }).click();
    await page.locator(".notice.error", { hasText: "VALIDATION_FAILED" }).waitFor();
    assert.equal(await page.locator('input[name="allow"]').inputValue(), "not a host!", "the rule stays in the field to be fixed");
    assert.deepEqual(await own(), before);
    // The page offers only the handlers the server has; the API refuses another name for programs.
    assert.deepEqual(await page.locator('select[name="handler"] option').allInnerTexts(), ["api", "git", "s3", "broken", "canned"]);
    const r = await srv.api("PATCH", `/v1/sandboxes/${id}/egress`, { byHost: { "api.example": "nope" } });
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as { code: string }).code, "EGRESS_HANDLER_NOT_FOUND");
  });
});
