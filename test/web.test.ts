import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { WebSocket } from "ws";
import { launchChromium } from "./helpers/browser.js";
import { TerminalLinks } from "../src/web/terminal-links.js";
import { freePort, name, startTestServer, type TestServer } from "./helpers/server.js";

const COUNTER = new URL("../examples/agents/counter.ts", import.meta.url).pathname;
const ROOT = new URL("..", import.meta.url).pathname;

/**
 * Another application's page on another origin, embedding a sandbox's terminal
 * with xterm.js and `burrow/xterm`: its own backend asks Burrow for a terminal
 * link with the token; the browser never sees the token.
 */
async function embeddingApp(srv: TestServer, sandboxId: string): Promise<{ url: string; server: Server }> {
  const files: Record<string, [string, string]> = {
    "/xterm.mjs": ["text/javascript", readFileSync(`${ROOT}/node_modules/@xterm/xterm/lib/xterm.mjs`, "utf8")],
    "/xterm.css": ["text/css", readFileSync(`${ROOT}/node_modules/@xterm/xterm/css/xterm.css`, "utf8")],
    "/burrow-xterm.js": ["text/javascript", readFileSync(`${ROOT}/dist/xterm.js`, "utf8")],
    "/": [
      "text/html",
      `<!doctype html><title>my app</title><link rel="stylesheet" href="/xterm.css">
<script type="importmap">{"imports": {"@xterm/xterm": "/xterm.mjs"}}</script>
<div id="t" style="width:800px;height:300px"></div>
<script type="module">
import { Terminal } from "@xterm/xterm";
import { BurrowTerminalAddon } from "/burrow-xterm.js";
const { url } = await (await fetch("/link")).json();
const term = new Terminal({ cols: 80, rows: 12 });
term.open(document.getElementById("t"));
term.loadAddon(new BurrowTerminalAddon({ url, onStatus: (s) => (document.body.dataset.status = s) }));
window.term = term;
</script>`,
    ],
  };
  const port = await freePort();
  const server = createServer(async (req, res) => {
    if (req.url === "/link") {
      const r = await srv.api("POST", `/v1/sandboxes/${sandboxId}/terminal-links`, { ttlSeconds: 60 });
      res.writeHead(r.status, { "content-type": "application/json" }).end(await r.text());
      return;
    }
    const f = files[req.url ?? ""];
    if (!f) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": f[0] }).end(f[1]);
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${port}/`, server };
}

const SHOTS = process.env.BURROW_SCREENSHOTS; // a directory: save screenshots of the main views there

/** The HTTP status (and error code) of a WebSocket upgrade the server refuses, or "open". */
function upgrade(url: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once("open", () => {
      ws.close();
      resolve("open");
    });
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d)).on("end", () => resolve(`${res.statusCode} ${(JSON.parse(body) as { code: string }).code}`));
    });
    ws.once("error", (err) => resolve(`error ${err.message}`));
  });
}

describe("the dashboard in a real browser", () => {
  let srv: TestServer;
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  let cookie: string;
  const id = name("web");
  const scratch = mkdtempSync(join(tmpdir(), "burrow-web-"));

  before(async () => {
    [srv, browser] = await Promise.all([startTestServer({ args: ["--agents", COUNTER] }), launchChromium()]);
    ctx = await browser.newContext({ viewport: { width: 1360, height: 820 }, acceptDownloads: true });
    page = await ctx.newPage();
    page.setDefaultTimeout(15_000);
  });
  after(async () => {
    await browser?.close();
    await srv?.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("signs in through the link: an HttpOnly, SameSite=Strict cookie, and the token leaves the address bar", async () => {
    await page.goto(`${srv.url}/login?token=${encodeURIComponent(srv.token)}`);
    assert.equal(page.url(), `${srv.url}/`);
    assert.match(await page.title(), /Burrow/);
    const [c] = (await ctx.cookies()).filter((c) => c.name === `burrow_session_${srv.port}`);
    assert.ok(c, "the session cookie is set");
    assert.equal(c.httpOnly, true);
    assert.equal(c.sameSite, "Strict");
    assert.ok(!c.value.includes(srv.token), "the cookie holds a session id, not the token");
    cookie = `${c.name}=${c.value}`;
    await page.locator("h1", { hasText: "Sandboxes" }).waitFor();
  });

  it("shows a sandbox created elsewhere without a reload", async () => {
    await page.locator(".live.on").waitFor();
    const put = await srv.api("PUT", `/v1/sandboxes/${id}`, { labels: { team: "web" } });
    assert.equal(put.status, 201);
    const row = page.locator(`tr[data-sandbox="${id}"]`);
    await row.waitFor();
    await row.locator(".badge", { hasText: "running" }).waitFor();
    if (SHOTS) {
      // A fuller list for the picture: one more running, one asleep.
      await srv.api("PUT", "/v1/sandboxes/agent-session-47", { labels: { agent: "support-desk" }, limits: { memoryMB: 512, cpus: 0.5 } });
      await srv.api("PUT", "/v1/sandboxes/ci-runner", { sleepAfter: "1h" });
      await srv.api("POST", "/v1/sandboxes/ci-runner/sleep", {});
      await page.locator('tr[data-sandbox="ci-runner"] .badge', { hasText: "sleeping" }).waitFor();
      await page.locator('tr[data-sandbox="agent-session-47"] .usage-cpu', { hasText: "%" }).waitFor();
      await page.screenshot({ path: join(SHOTS, "dashboard.png") });
    }
  });

  it("creates, sleeps, wakes and destroys sandboxes from the list's buttons", async () => {
    const made = name("ui");
    await page.locator('form.create input[name="id"]').fill(made);
    await page.getByRole("button", { name: "Create sandbox" }).click();
    const row = page.locator(`tr[data-sandbox="${made}"]`);
    await row.locator(".badge", { hasText: "running" }).waitFor();
    await row.locator('button[data-action="sleep"]').click();
    await row.locator(".badge", { hasText: "sleeping" }).waitFor();
    assert.equal((await srv.burrow.sandbox(made).info()).state, "sleeping");
    await row.locator('button[data-action="wake"]').click();
    await row.locator(".badge", { hasText: "running" }).waitFor();
    page.once("dialog", (d) => void d.accept());
    await row.locator('button[data-action="destroy"]').click();
    await row.waitFor({ state: "detached" });
    assert.equal((await srv.api("GET", `/v1/sandboxes/${made}`)).status, 404);
  });

  it("types into a real terminal and reads the answer from the rendered screen", async () => {
    await page.goto(`${srv.url}/sandboxes/${id}/terminal`);
    await page.locator(".terminal-status.open").waitFor();
    await page.locator(".terminal-box").click();
    await page.keyboard.type("echo answer=$((6*7))\n");
    await page.locator(".xterm-rows", { hasText: "answer=42" }).waitFor();
    const rows = await page.locator(".xterm-rows").innerText();
    assert.match(rows, /^answer=42$/m, "the command's output is on a line of its own");
    if (SHOTS) await page.screenshot({ path: join(SHOTS, "terminal.png") });
  });

  it("reattaches the terminal after a reload (the output is replayed) and follows the window's size", async () => {
    await page.reload();
    await page.locator(".terminal-status.open").waitFor();
    await page.locator(".xterm-rows", { hasText: "answer=42" }).waitFor();
    const size = async () => {
      await page.locator(".terminal-box").click();
      const mark = `size-${Math.random().toString(36).slice(2, 7)}`;
      await page.keyboard.type(`echo ${mark} $(stty size)\n`);
      const row = page.locator(".xterm-rows > div", { hasText: new RegExp(`^${mark} \\d+ \\d+`) });
      await row.waitFor();
      const [, rows, cols] = (await row.innerText()).trim().split(/\s+/).map(Number);
      return { rows: rows!, cols: cols! };
    };
    const before = await size();
    await page.setViewportSize({ width: 900, height: 620 });
    let after = before;
    for (const t = Date.now(); Date.now() - t < 5000 && after.cols === before.cols; ) after = await size();
    assert.ok(after.cols < before.cols && after.rows < before.rows, `the PTY follows the window: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
    await page.setViewportSize({ width: 1360, height: 820 });

    // A second tab is a second shell.
    await page.locator(".term-add").click();
    const second = page.locator(".terminal-pane").nth(1);
    await second.locator(".terminal-status.open").waitFor();
    await second.locator(".terminal-box").click();
    await page.keyboard.type("echo tab=$$\n");
    await second.locator(".xterm-rows", { hasText: /tab=\d+/ }).waitFor();
    const first = await page.locator(".terminal-pane").nth(0).locator(".xterm-rows").innerText();
    assert.ok(!first.includes("tab="), "the first tab's shell did not get the second tab's input");
  });

  it("does not wake a sandbox put to sleep under an open terminal until a key is pressed", async () => {
    await page.locator('button[data-action="sleep"]').click();
    const pane = page.locator(".terminal-pane").nth(1);
    await pane.locator(".terminal-status.stopped").waitFor();
    // Give an eager reconnect the time to happen: the sandbox must stay asleep.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await srv.burrow.sandbox(id).info()).state, "sleeping");
    await pane.locator(".terminal-box").click();
    await page.keyboard.press("Enter");
    await pane.locator(".terminal-status.open").waitFor();
    assert.equal((await srv.burrow.sandbox(id).info()).state, "running");
  });

  it("uploads a file and downloads one", async () => {
    await page.goto(`${srv.url}/sandboxes/${id}/files`);
    await page.locator("table.files-table").waitFor();
    const local = join(scratch, "notes.txt");
    writeFileSync(local, "uploaded from the browser\n");
    await page.locator("input[data-upload]").setInputFiles(local);
    await page.locator('tr[data-file="notes.txt"]').waitFor();
    assert.equal(await srv.burrow.sandbox(id).readFile("/workspace/notes.txt").then((r) => r.content), "uploaded from the browser\n");

    await srv.burrow.sandbox(id).writeFile("/workspace/report.csv", "a,b\n1,2\n");
    await page.getByRole("button", { name: "Refresh" }).click();
    const download = page.waitForEvent("download");
    await page.locator('tr[data-file="report.csv"] a', { hasText: "Download" }).click();
    const file = join(scratch, "report.csv");
    await (await download).saveAs(file);
    assert.equal(readFileSync(file, "utf8"), "a,b\n1,2\n");
    await page.locator('tr[data-file="report.csv"] a.file-name').click();
    await page.locator('pre[data-viewer="/workspace/report.csv"]', { hasText: "1,2" }).waitFor();
    if (SHOTS) await page.screenshot({ path: join(SHOTS, "files.png") });

    // New folder (named in a prompt) and delete (confirmed).
    page.once("dialog", (d) => void d.accept("reports"));
    await page.getByRole("button", { name: "New folder" }).click();
    await page.locator('tr[data-file="reports"] a.file-name.directory').waitFor();
    assert.equal((await srv.burrow.sandbox(id).stat("/workspace/reports")).type, "directory");
    page.once("dialog", (d) => void d.accept());
    await page.locator('tr[data-file="notes.txt"] button', { hasText: "Delete" }).click();
    await page.locator('tr[data-file="notes.txt"]').waitFor({ state: "detached" });
    assert.equal(await srv.burrow.sandbox(id).exists("/workspace/notes.txt"), false);
  });

  it("follows a process's logs and kills it", async () => {
    const sbx = srv.burrow.sandbox(id);
    await sbx.startProcess("for i in $(seq 1 1000); do echo tick-$i; sleep 0.2; done", { processId: "ticker" });
    await page.goto(`${srv.url}/sandboxes/${id}/processes`);
    const row = page.locator('tr[data-process="ticker"]');
    await row.click();
    await page.locator('pre[data-logs="ticker"]', { hasText: "tick-3" }).waitFor();
    if (SHOTS) await page.screenshot({ path: join(SHOTS, "processes.png") });
    await row.locator('button[data-action="kill"]').click();
    await page.locator('pre[data-logs="ticker"]', { hasText: /process killed/ }).waitFor();
    assert.equal((await sbx.getProcess("ticker")).status, "killed");
  });

  it("refuses the API without a session, and cookie requests from another origin or without the CSRF token", async () => {
    const bare = await fetch(`${srv.url}/v1/sandboxes`);
    assert.equal(bare.status, 401);
    assert.equal(((await bare.json()) as { code: string }).code, "UNAUTHORIZED");
    // Same origin, cookie: reads work.
    const own = await fetch(`${srv.url}/v1/sandboxes`, { headers: { cookie, "sec-fetch-site": "same-origin" } });
    assert.equal(own.status, 200);
    // An API answer opened in the browser never runs as the dashboard (say, an HTML file of a sandbox).
    assert.match(own.headers.get("content-security-policy") ?? "", /^sandbox; default-src 'none'/);
    // Another site's page (or a preview URL's) with the cookie: refused for reads and writes.
    for (const origin of ["http://evil.example", `http://8000-${id}-abcd1234.localhost:${srv.port}`]) {
      const get = await fetch(`${srv.url}/v1/sandboxes`, { headers: { cookie, origin } });
      assert.equal(get.status, 403, `GET from ${origin}`);
      const del = await fetch(`${srv.url}/v1/sandboxes/${id}`, { method: "DELETE", headers: { cookie, origin } });
      assert.equal(del.status, 403, `DELETE from ${origin}`);
      assert.equal(((await del.json()) as { code: string }).code, "ORIGIN_REFUSED");
      const ws = await upgrade(`ws://127.0.0.1:${srv.port}/v1/sandboxes/${id}/terminal`, { cookie, origin });
      assert.equal(ws, "403 ORIGIN_REFUSED", `WebSocket from ${origin}`);
    }
    // Our own origin but no CSRF token (a form another page could not build anyway): refused.
    const noCsrf = await fetch(`${srv.url}/v1/sandboxes/${id}/sleep`, { method: "POST", headers: { cookie, origin: srv.url, "content-type": "application/json" }, body: "{}" });
    assert.equal(noCsrf.status, 403);
    assert.equal(((await noCsrf.json()) as { code: string }).code, "CSRF_TOKEN_INVALID");
    assert.equal((await srv.burrow.sandbox(id).info()).state, "running", "nothing happened to the sandbox");
    // The same WebSocket from our own origin opens; the bearer header still works for programs.
    assert.equal(await upgrade(`ws://127.0.0.1:${srv.port}/v1/sandboxes/${id}/terminal`, { cookie, origin: srv.url }), "open");
    assert.equal(await upgrade(`ws://127.0.0.1:${srv.port}/v1/sandboxes/${id}/terminal`, { authorization: `Bearer ${srv.token}`, origin: "http://evil.example" }), "open");
  });

  it("keeps the session away from a page served on a preview URL", async () => {
    const sbx = srv.burrow.sandbox(id);
    // The page tries to use the session on both names the dashboard may have (same-site with *.localhost).
    const html = `<!doctype html><title>preview</title><script>
      window.attempts = Promise.all(["127.0.0.1", "localhost"].map(async (h) => {
        const out = {};
        try { const r = await fetch("http://" + h + ":${srv.port}/v1/sandboxes", { credentials: "include" }); out.read = r.status; }
        catch (e) { out.read = "blocked"; }
        try { await fetch("http://" + h + ":${srv.port}/v1/sandboxes/${id}/sleep", { method: "POST", body: "{}", credentials: "include", mode: "no-cors" }); out.write = "sent"; }
        catch (e) { out.write = "blocked"; }
        return out;
      }));
    </script>`;
    await sbx.writeFile("/workspace/site/index.html", html);
    const p = await sbx.startProcess("cd /workspace/site && python3 -m http.server 8000 --bind 127.0.0.1");
    await p.waitForPort(8000);
    const { url } = await sbx.exposePort(8000);
    // The Ports tab lists it; its link opens the preview in a new tab, with no referrer.
    await page.goto(`${srv.url}/sandboxes/${id}/ports`);
    const [popup] = await Promise.all([ctx.waitForEvent("page"), page.locator(`tr[data-port="8000"] a[href="${url}"]`).click()]);
    await popup.waitForLoadState();
    assert.equal(await popup.title(), "preview");
    assert.equal(await popup.evaluate("document.referrer"), "");
    await popup.close();
    // Sign in on localhost too, so the cookie is same-site with the preview host.
    const page2 = await ctx.newPage();
    await page2.goto(`http://localhost:${srv.port}/login?token=${encodeURIComponent(srv.token)}`);
    await page2.locator("h1", { hasText: "Sandboxes" }).waitFor();
    await page2.goto(url);
    const attempts = (await page2.evaluate("window.attempts")) as { read: unknown; write: string }[];
    for (const a of attempts) assert.notEqual(a.read, 200, "a preview page never reads the API");
    assert.equal((await sbx.info()).state, "running", "the sleep request did not act with the session");
    await page2.close();
    await p.kill();
  });

  it("embeds a terminal in another origin's page with burrow/xterm and a terminal link", async () => {
    const app = await embeddingApp(srv, id);
    const other = await ctx.newPage();
    try {
      await other.goto(app.url);
      await other.locator('body[data-status="open"]').waitFor();
      await other.locator(".xterm-screen").click();
      await other.keyboard.type("echo embedded=$((2+3))\n");
      await other.locator(".xterm-rows", { hasText: "embedded=5" }).waitFor();
    } finally {
      await other.close();
      app.server.close();
    }
  });

  it("mints terminal links that open one sandbox's terminal, and refuses others", async () => {
    const r = await srv.api("POST", `/v1/sandboxes/${id}/terminal-links`, { ttlSeconds: 60 });
    assert.equal(r.status, 201);
    const { url, expiresAt } = (await r.json()) as { url: string; expiresAt: string };
    assert.ok(Date.parse(expiresAt) > Date.now());
    assert.equal(await upgrade(url, { origin: "http://app.example" }), "open");
    const other = name("other");
    await srv.api("PUT", `/v1/sandboxes/${other}`, {});
    assert.equal(await upgrade(url.replace(`/sandboxes/${id}/`, `/sandboxes/${other}/`), {}), "401 UNAUTHORIZED");
    assert.equal(await upgrade(url.replace(/link=\d+\./, "link=1."), {}), "401 UNAUTHORIZED");
    // A link this server signed an hour ago for a minute: refused as expired.
    const old = new TerminalLinks(srv.token, () => Date.now() - 3600_000).mint(id, 60);
    assert.equal(await upgrade(url.replace(/link=[^&]+/, `link=${old.secret}`), {}), "401 TERMINAL_LINK_EXPIRED");
    const bad = await srv.api("POST", `/v1/sandboxes/${id}/terminal-links`, { ttlSeconds: 99999 });
    assert.equal(bad.status, 400);
  });

  it("shows an agent's state changing live, and calls its methods", async () => {
    const inst = name("count");
    await page.goto(`${srv.url}/agents`);
    await page.locator('input[name="instance"]').fill(inst);
    await page.getByRole("button", { name: "Open" }).click();
    const state = page.locator("pre[data-agent-state]");
    await state.filter({ hasText: '"count": 0' }).waitFor();
    // Another client changes it: the page shows it without a reload.
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/agents/counter/${inst}`);
    await new Promise((r, j) => ws.once("open", r).once("error", j));
    ws.send(JSON.stringify({ type: "rpc", id: "1", method: "increment", args: [5] }));
    await state.filter({ hasText: '"count": 5' }).waitFor();
    ws.close();
    await page.locator('input[name="method"]').fill("increment");
    await page.locator('input[name="args"]').fill("[2]");
    await page.getByRole("button", { name: "Call" }).click();
    await state.filter({ hasText: '"count": 7' }).waitFor();
    await page.locator("pre[data-agent-calls]", { hasText: "increment(2) → 7" }).waitFor();
    if (SHOTS) await page.screenshot({ path: join(SHOTS, "agents.png") });
  });

  it("runs a cell in a code context from the Code tab", async () => {
    await page.goto(`${srv.url}/sandboxes/${id}/code`);
    await page.getByRole("button", { name: "New context" }).click();
    await page.locator("textarea.code-input").fill("x = 6\nx * 7");
    await page.getByRole("button", { name: "Run cell" }).click();
    await page.locator(".panel pre.viewer-text", { hasText: /^42$/ }).waitFor({ timeout: 30_000 });
  });

  it("signs in by form, signs out, and the old cookie stops working", async () => {
    await page.goto(`${srv.url}/server`);
    await page.locator(".card-value", { hasText: /^\d+$/ }).first().waitFor();
    if (SHOTS) await page.screenshot({ path: join(SHOTS, "server.png") });
    await page.locator('button[data-action="sign-out"]').click();
    await page.waitForURL(`${srv.url}/login`);
    const after = await fetch(`${srv.url}/v1/sandboxes`, { headers: { cookie } });
    assert.equal(after.status, 401);
    await page.goto(`${srv.url}/`);
    await page.locator("#token").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator(".login-error").waitFor();
    if (SHOTS) await page.screenshot({ path: join(SHOTS, "sign-in.png") });
    await page.locator("#token").fill(srv.token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("h1", { hasText: "Sandboxes" }).waitFor();
    assert.equal(page.url(), `${srv.url}/`);
  });
});
