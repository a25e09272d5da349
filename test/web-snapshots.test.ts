import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium, signedInPage } from "./helpers/browser.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

const SHOTS = process.env.BURROW_SCREENSHOTS; // a directory: save a screenshot of the snapshots tab there

/**
 * In Chromium: a sandbox's Snapshots tab takes a snapshot, forks a new sandbox
 * from it (which opens on the fork's page, with the files of the moment it was
 * taken), says why a fork or a delete is refused, and the Snapshots page
 * deletes it.
 */
describe("the dashboard's snapshots", () => {
  let srv: TestServer;
  let browser: Browser;
  let page: Page;
  const origin = name("orig");
  const fork = name("fork");

  before(async () => {
    [srv, browser] = await Promise.all([startTestServer(), launchChromium()]);
    page = await signedInPage(browser, srv, { width: 1360, height: 820 });
  });
  after(async () => {
    await browser?.close();
    await srv?.cleanup();
  });

  const sbx = (id: string) => srv.burrow.sandbox(id);
  const snapshotsOf = async (sandbox: string) =>
    ((await (await srv.api("GET", "/v1/snapshots")).json()) as { snapshots: { id: string; sandboxId: string }[] }).snapshots.filter((s) => s.sandboxId === sandbox);

  it("takes a snapshot and forks a sandbox from it", async () => {
    await srv.api("PUT", `/v1/sandboxes/${origin}`, {});
    const sbx = srv.burrow.sandbox(origin);
    await sbx.writeFile("/workspace/state.txt", "before the snapshot\n");

    await page.goto(`${srv.url}/sandboxes/${origin}/snapshots`);
    await page.locator(".empty", { hasText: "No snapshots yet." }).waitFor();
    await page.locator("button", { hasText: "Take snapshot" }).click();
    await page.locator(".notice", { hasText: "Snapshot taken" }).waitFor();
    const [snap] = await snapshotsOf(origin);
    assert.ok(snap, "the API lists the snapshot the button took");
    const row = page.locator("tr", { has: page.locator("td", { hasText: snap.id }) });
    await row.waitFor();
    if (SHOTS) await page.screenshot({ path: join(SHOTS, "snapshots.png") });

    // What changes after the snapshot stays with the original.
    await sbx.writeFile("/workspace/state.txt", "after the snapshot\n");
    page.once("dialog", (d) => void d.accept(fork));
    await row.locator("button", { hasText: "Fork" }).click();
    await page.waitForURL(`${srv.url}/sandboxes/${fork}`);
    await page.locator("h1", { hasText: fork }).waitFor();
    assert.equal((await srv.burrow.sandbox(fork).readFile("/workspace/state.txt")).content, "before the snapshot\n");
    assert.equal((await sbx.readFile("/workspace/state.txt")).content, "after the snapshot\n");
  });

  it("says why a fork is refused and stays on the page", async () => {
    await page.goto(`${srv.url}/sandboxes/${origin}/snapshots`);
    const [snap] = await snapshotsOf(origin);
    const row = page.locator("tr", { has: page.locator("td", { hasText: snap!.id }) });
    page.once("dialog", (d) => void d.accept(fork)); // that name is taken now
    await row.locator("button", { hasText: "Fork" }).click();
    await page.locator(".notice.error", { hasText: "SANDBOX_EXISTS" }).waitFor();
    assert.equal(new URL(page.url()).pathname, `/sandboxes/${origin}/snapshots`);
  });

  it("lists every snapshot on the Snapshots page, and deletes one once no fork stands on it", async () => {
    const [snap] = await snapshotsOf(origin);
    await page.goto(`${srv.url}/snapshots`);
    const row = page.locator("tr", { has: page.locator("td", { hasText: snap!.id }) });
    await row.locator("td", { hasText: origin }).waitFor();
    // The fork's disk stands on the snapshot: the page says so and keeps it.
    page.once("dialog", (d) => void d.accept());
    await row.locator("button", { hasText: "Delete" }).click();
    await page.locator(".notice.error", { hasText: "SNAPSHOT_IN_USE" }).waitFor();
    assert.equal((await snapshotsOf(origin)).length, 1);

    await srv.api("DELETE", `/v1/sandboxes/${fork}`);
    page.once("dialog", (d) => void d.accept());
    await row.locator("button", { hasText: "Delete" }).click();
    await row.waitFor({ state: "detached" });
    assert.deepEqual(await snapshotsOf(origin), []);
    assert.equal((await sbx(origin).readFile("/workspace/state.txt")).content, "after the snapshot\n", "the original keeps its files");
  });
});
