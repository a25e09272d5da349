import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { WebSocket } from "ws";
import { launchChromium, signedInPage } from "./helpers/browser.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

const SHOTS = process.env.BURROW_SCREENSHOTS; // a directory: save a screenshot of the agents view there
const AGENTS = join(import.meta.dirname, "fixtures/web-agents.ts");

/**
 * A person opens the Agents view in Chromium: the classes served, a class's
 * instances (in memory or only stored, with their connections), one instance's
 * schedules changing as it works, and its callable methods picked from a list.
 */
describe("the dashboard's agents view", () => {
  let srv: TestServer;
  let browser: Browser;
  let page: Page;
  const sockets: WebSocket[] = [];

  /** Another client of an agent (a program, a colleague's page), over the agents protocol. */
  const connect = async (cls: string, name: string): Promise<WebSocket> => {
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/agents/${cls}/${name}`);
    await new Promise((r, j) => ws.once("open", r).once("error", j));
    sockets.push(ws);
    return ws;
  };
  const rpc = (ws: WebSocket, method: string, args: unknown[]) =>
    new Promise<unknown>((resolve) => {
      const id = Math.random().toString(36).slice(2);
      ws.on("message", (d) => {
        const f = JSON.parse(String(d)) as { type: string; id?: string; result?: unknown };
        if (f.type === "rpc" && f.id === id) resolve(f.result);
      });
      ws.send(JSON.stringify({ type: "rpc", id, method, args }));
    });

  before(async () => {
    // Idle instances leave memory after a second, so "stored" ones can be seen.
    [srv, browser] = await Promise.all([startTestServer({ args: ["--agents", AGENTS], env: { BURROW_AGENT_IDLE_MS: "1000" } }), launchChromium()]);
    page = await signedInPage(browser, srv, { width: 1360, height: 980 });
  });
  after(async () => {
    for (const ws of sockets) ws.close();
    await browser?.close();
    await srv?.cleanup();
  });

  it("lists a class's instances, live and stored, with their connections", async () => {
    const alpha = await connect("counter", "alpha");
    await rpc(alpha, "increment", [3]);
    const beta = await connect("counter", "beta");
    await rpc(beta, "increment", [1]);
    beta.close();

    await page.goto(`${srv.url}/agents`);
    await page.locator('.agent-classes [data-class="counter"].active', { hasText: "3 methods" }).waitFor();
    await page.locator('.agent-classes [data-class="reminders"]').waitFor();
    const row = (n: string) => page.locator(`tr[data-instance="${n}"]`);
    await row("alpha").locator(".badge", { hasText: "live" }).waitFor();
    await row("alpha").locator('[data-connections="1"]').waitFor();
    // beta's only client left: the server lets it go from memory, and the list says it is stored.
    await row("beta").locator(".badge", { hasText: "stored" }).waitFor();
    assert.equal(await row("beta").locator("td").nth(2).innerText(), "0");

    // The page's own connection counts too once the instance is opened from its row.
    await row("alpha").getByRole("button", { name: "View" }).click();
    await page.locator("pre[data-agent-state]", { hasText: '"count": 3' }).waitFor();
    await row("alpha").locator('[data-connections="2"]').waitFor();
    assert.match(page.url(), /\/agents\?class=counter&name=alpha$/);
    alpha.close();
    await row("alpha").locator('[data-connections="1"]').waitFor();
  });

  it("shows an instance's schedules as they change, and calls a method picked from its list", async () => {
    await page.locator('.agent-classes [data-class="reminders"]').click();
    await page.locator('input[name="instance"]').fill("kitchen");
    await page.getByRole("button", { name: "Open", exact: true }).click();
    const schedules = page.locator("[data-agent-schedules]");
    // onStart scheduled an hourly tidy-up.
    await schedules.locator('tr[data-schedule="tidy"]', { hasText: "every 1 h" }).waitFor();

    // Pick "remind" from the methods: the form gets its name, the arguments are typed.
    const remind = page.locator('button[data-method="remind"]');
    assert.equal(await remind.innerText(), "remind(seconds, text)");
    assert.equal(await remind.getAttribute("title"), "remind with text after some seconds");
    await remind.click();
    assert.equal(await page.locator('input[name="method"]').inputValue(), "remind");
    await page.locator('input[name="args"]').fill('[600, "defrost"]');
    await page.getByRole("button", { name: "Call" }).click();
    await schedules.locator('tr[data-schedule="fire"]', { hasText: '"defrost"' }).filter({ hasText: "in 10 min" }).waitFor();
    await page.locator("pre[data-agent-state]", { hasText: "defrost" }).waitFor();

    // One due in a second: it fires, the state shows it, and it leaves the schedules.
    await page.locator('button[data-method="remind"]').click();
    await page.locator('input[name="args"]').fill('[1, "kettle"]');
    await page.getByRole("button", { name: "Call" }).click();
    await schedules.locator('tr[data-schedule="fire"]', { hasText: '"kettle"' }).waitFor();
    await page.locator("pre[data-agent-state]", { hasText: /"fired": \[\s*"kettle"/ }).waitFor();
    await schedules.locator('tr[data-schedule="fire"]', { hasText: '"kettle"' }).waitFor({ state: "detached" });
    assert.equal(await schedules.locator("tbody tr").count(), 2, "the tidy-up and the defrost reminder are left");
    await page.locator('tr[data-instance="kitchen"] .badge', { hasText: "live" }).waitFor();
    if (SHOTS) await page.screenshot({ path: join(SHOTS, "agents.png"), fullPage: true });

    // The address names the instance: a reload opens it again.
    await page.reload();
    await page.locator('.agent-classes [data-class="reminders"].active').waitFor();
    await page.locator("pre[data-agent-state]", { hasText: "kettle" }).waitFor();
  });

  it("answers the instances API with stable errors, and never starts an instance by looking", async () => {
    const unknown = await srv.api("GET", "/v1/agents/nope/instances");
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { code: string }).code, "AGENT_NOT_FOUND");
    const never = await srv.api("GET", "/v1/agents/counter/instances/never-started");
    assert.equal(never.status, 404);
    assert.equal(((await never.json()) as { code: string }).code, "AGENT_NOT_FOUND");
    const list = (await (await srv.api("GET", "/v1/agents/counter/instances")).json()) as { instances: { name: string }[] };
    assert.deepEqual(list.instances.map((i) => i.name).sort(), ["alpha", "beta"]);
    assert.equal((await srv.api("GET", "/v1/agents/counter/instances?limit=0")).status, 400);
    const one = (await (await srv.api("GET", "/v1/agents/counter/instances?limit=1")).json()) as { instances: unknown[]; total: number };
    assert.equal(one.instances.length, 1);
    assert.equal(one.total, 2);
    // Without a session or token: refused like the rest of the API.
    assert.equal((await fetch(`${srv.url}/v1/agents/counter/instances`)).status, 401);
  });
});
