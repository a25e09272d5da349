import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { AgentClient } from "agents/client";
import type { Browser, Page } from "playwright-core";
import WebSocket from "ws";
import { launchChromium } from "./helpers/browser.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

// The example Counter serves its own live page (examples/agents/counter.ts and
// counter-page.ts, the unmodified AgentClient bundled for the browser). Chromium
// opens it; a program changes the count over the agents protocol and the page
// follows; the page's buttons call the agent and every other client sees it.
const uid = () => Math.random().toString(36).slice(2, 8);

describe("an agent's own live page (the example Counter), in Chromium", () => {
  let srv: TestServer;
  let browser: Browser;
  const clients: AgentClient[] = [];

  before(async () => {
    [srv, browser] = await Promise.all([startTestServer({ args: ["--examples"] }), launchChromium()]);
  });
  after(async () => {
    for (const c of clients) c.close();
    await browser?.close();
    await srv?.cleanup();
  });

  const program = async (name: string, seen: number[] = []) => {
    const c = new AgentClient<{ count: number }>({ agent: "Counter", name, host: `127.0.0.1:${srv.port}`, WebSocket: WebSocket as never, onStateUpdate: (s: { count: number }) => seen.push(s.count) } as never);
    clients.push(c as AgentClient);
    await c.ready;
    return c;
  };
  const open = async (name: string): Promise<Page> => {
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${srv.url}/agents/counter/${name}`);
    await page.locator("#status[data-state=connected]").waitFor();
    assert.deepEqual(errors, [], "the page runs without errors");
    return page;
  };
  const countOf = (page: Page, n: number) => page.locator("#count", { hasText: new RegExp(`^${n}$`) }).waitFor();

  it("shows the count as a program changes it, and its buttons change it for everyone", async () => {
    const name = `live-${uid()}`;
    const page = await open(name);
    await countOf(page, 0);
    assert.match(await page.locator("#status").innerText(), new RegExp(`counter/${name}`));

    const seen: number[] = [];
    const c = await program(name, seen);
    assert.equal(await c.call("increment", [5]), 5);
    await countOf(page, 5);
    await page.locator("#changes li", { hasText: "count is 5 (from the agent)" }).waitFor();

    // A second page and the program see the first page's click.
    const other = await open(name);
    await countOf(other, 5);
    await page.click("#increment");
    await countOf(page, 6);
    await countOf(other, 6);
    await waitFor(() => seen.includes(6), "the program sees the page's increment");
    assert.equal(await c.call("get", []), 6);

    // A streaming method, its chunks shown as they come.
    await page.click("#count-to");
    await page.locator("#streamed", { hasText: "1 2 3 4 5 (done at 5)" }).waitFor();
    await page.close();
    await other.close();
  });

  it("serves programs JSON and a browser the page, on the same address", async () => {
    const name = `neg-${uid()}`;
    const json = await fetch(`${srv.url}/agents/counter/${name}`);
    assert.match(json.headers.get("content-type") ?? "", /application\/json/);
    assert.deepEqual(await json.json(), { name, count: 0, method: "GET" });
    const html = await fetch(`${srv.url}/agents/counter/${name}`, { headers: { accept: "text/html" } });
    assert.match(html.headers.get("content-type") ?? "", /text\/html/);
    assert.match(await html.text(), /counter\.js/);
    // A name with markup in it is shown as text, not run.
    const hostile = await fetch(`${srv.url}/agents/counter/${encodeURIComponent('<img src=x onerror=alert(1)>')}`, { headers: { accept: "text/html" } });
    assert.doesNotMatch(await hostile.text(), /<img src=x/);
  });
});

async function waitFor(probe: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
