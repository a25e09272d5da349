import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium, signedInPage } from "./helpers/browser.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

const SHOTS = process.env.BURROW_SCREENSHOTS; // a directory: save a screenshot of the list there

/** A 4x4 red PNG. */
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEklEQVR4nGP4z8CAB+GTG8HSALfKY52fTcuYAAAAAElFTkSuQmCC", "base64");

/**
 * In Chromium: the sandbox list shows what each running sandbox uses now (CPU
 * and memory); the Files tab takes files dropped on it, shows images, and
 * walks the sandbox's folders as a tree.
 */
describe("the dashboard's usage column and Files tab", () => {
  let srv: TestServer;
  let browser: Browser;
  let page: Page;
  const busy = name("busy");
  const idle = name("idle");

  before(async () => {
    [srv, browser] = await Promise.all([startTestServer(), launchChromium()]);
    page = await signedInPage(browser, srv, { width: 1360, height: 820 });
  });
  after(async () => {
    await browser?.close();
    await srv?.cleanup();
  });

  it("shows each running sandbox's CPU and memory in the list, and a dash for a sleeping one", async () => {
    await srv.api("PUT", `/v1/sandboxes/${busy}`, {});
    await srv.api("PUT", `/v1/sandboxes/${idle}`, {});
    await srv.api("POST", `/v1/sandboxes/${idle}/sleep`, {});
    // A loop that keeps one core busy (the default limit is one CPU).
    const spin = await srv.burrow.sandbox(busy).startProcess("while :; do :; done", { processId: "spin" });

    const cell = page.locator(`tr[data-sandbox="${busy}"] td[data-usage]`);
    await cell.locator(".usage-cpu", { hasText: /^\d+(\.\d)?%$/ }).waitFor();
    let pct = 0;
    for (const t = Date.now(); Date.now() - t < 10_000 && pct < 20; ) {
      pct = Number((await cell.getAttribute("data-cpu")) || 0);
      if (pct < 20) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(pct >= 20, `a spinning loop shows as busy: ${pct}%`);
    assert.match(await cell.locator(".muted").innerText(), /^\d+(\.\d)? (KiB|MiB)$/);
    assert.equal(await page.locator(`tr[data-sandbox="${idle}"] td[data-usage]`).innerText(), "–");
    if (SHOTS) await page.screenshot({ path: join(SHOTS, "dashboard-usage.png") });

    // The API behind it: one reading of every running sandbox.
    const r = (await (await srv.api("GET", "/v1/usage/running")).json()) as { sandboxes: { sandbox: string; cpuSeconds: number; memoryBytes: number }[] };
    assert.deepEqual(r.sandboxes.map((s) => s.sandbox), [busy]);
    assert.ok(r.sandboxes[0]!.cpuSeconds > 0 && r.sandboxes[0]!.memoryBytes > 0);
    await spin.kill();
  });

  it("uploads files dropped on the Files tab, and shows an image", async () => {
    await page.goto(`${srv.url}/sandboxes/${busy}/files`);
    await page.locator("table.files-table, .files .empty").first().waitFor();
    // What a drop from the desktop hands the page: a DataTransfer with files.
    const drop = await page.evaluateHandle((png) => {
      const dt = new DataTransfer();
      dt.items.add(new File(["dropped text\n"], "dropped.txt", { type: "text/plain" }));
      dt.items.add(new File([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], "red.png", { type: "image/png" }));
      return dt;
    }, PNG.toString("base64"));
    await page.dispatchEvent(".files", "dragover", { dataTransfer: drop });
    await page.locator(".files.dragging").waitFor();
    await page.dispatchEvent(".files", "drop", { dataTransfer: drop });
    await page.locator('tr[data-file="dropped.txt"]').waitFor();
    await page.locator('tr[data-file="red.png"]').waitFor();
    const sbx = srv.burrow.sandbox(busy);
    assert.equal((await sbx.readFile("/workspace/dropped.txt")).content, "dropped text\n");
    assert.equal((await sbx.stat("/workspace/red.png")).size, PNG.length);

    await page.locator('tr[data-file="red.png"] a.file-name').click();
    const img = page.locator('img.viewer-img[alt="red.png"]');
    await img.waitFor();
    await page.waitForFunction(() => (document.querySelector("img.viewer-img") as HTMLImageElement | null)?.naturalWidth === 4);
    assert.equal(await page.locator(".files.dragging").count(), 0, "the drop outline is gone");
  });

  it("walks the folders as a tree that follows the listing", async () => {
    const sbx = srv.burrow.sandbox(busy);
    await sbx.exec("mkdir -p /workspace/src/lib/deep /workspace/docs && touch /workspace/src/lib/a.ts");
    await page.goto(`${srv.url}/sandboxes/${busy}/files`);
    const tree = page.locator("nav.file-tree");
    // The shown folder's ancestors are open, and it is marked.
    await tree.locator('li.current[data-tree="/workspace"]').waitFor();
    await tree.locator('li.open[data-tree="/"] > ul > li[data-tree="/etc"]').waitFor();
    await tree.locator('li[data-tree="/workspace/docs"]').waitFor();
    assert.equal(await tree.locator('li[data-tree="/workspace/src/lib"]').count(), 0, "closed folders are not read");

    // Opening a folder in the tree lists its subfolders; a name opens it in the listing.
    await tree.locator('li[data-tree="/workspace/src"] > .tree-row .tree-toggle').click();
    await tree.locator('li[data-tree="/workspace/src/lib"] > .tree-row .tree-name').click();
    await page.locator('tr[data-file="a.ts"]').waitFor();
    await page.locator('tr[data-file="deep"]').waitFor();
    await tree.locator('li.current[data-tree="/workspace/src/lib"]').waitFor();

    // A folder opened from the listing opens in the tree too; one made there appears in it.
    await page.locator('tr[data-file="deep"] a.file-name').click();
    await tree.locator('li.current.open[data-tree="/workspace/src/lib/deep"]').waitFor();
    page.once("dialog", (d) => void d.accept("made-here"));
    await page.locator(".files-main .toolbar button", { hasText: "New folder" }).click();
    await tree.locator('li[data-tree="/workspace/src/lib/deep/made-here"]').waitFor();
    assert.equal((await sbx.stat("/workspace/src/lib/deep/made-here")).type, "directory");

    // Collapsing hides a folder's children.
    await tree.locator('li[data-tree="/workspace/src"] > .tree-row .tree-toggle').click();
    await tree.locator('li[data-tree="/workspace/src/lib"]').waitFor({ state: "detached" });
    if (SHOTS) await page.screenshot({ path: join(SHOTS, "files-tree.png") });
  });
});
