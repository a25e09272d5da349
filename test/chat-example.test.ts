import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "./helpers/browser.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { DEMO_HELP } from "../examples/agents/chat-model.js";

// The example chat (examples/agents/chat.ts) as `burrow serve --examples` serves it: its
// own page (built into dist/ by scripts/build.mjs, React and the unmodified useAgentChat)
// in Chromium, driven through its buttons and input. No model can be reached here, so
// without OPENAI_API_KEY it runs the example's scripted model; the sandbox is real.
const uid = () => Math.random().toString(36).slice(2, 8);

interface Shown {
  status: string;
  error: string;
  messages: { role: string; text: string; tools: { state: string; output: string }[] }[];
}

describe("the example chat, in Chromium", () => {
  let srv: TestServer;
  let browser: Browser;
  const name = `demo-${uid()}`;
  let lastSeen = "";

  before(async () => {
    srv = await startTestServer({ args: ["--examples"], env: { OPENAI_API_KEY: "" } });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await srv?.cleanup();
  });

  /** What the page shows: the status and each message's text and tool calls. */
  const shown = (page: Page): Promise<Shown> =>
    page.evaluate(() => ({
      status: document.querySelector("main")?.dataset.status ?? "",
      error: document.querySelector("p.error")?.textContent ?? "",
      messages: Array.from(document.querySelectorAll("#messages .message")).map((li) => ({
        role: li.classList.contains("user") ? "user" : "assistant",
        text: Array.from(li.querySelectorAll(".text")).map((t) => t.textContent).join(""),
        tools: Array.from(li.querySelectorAll(".tool")).map((t) => ({ state: (t as HTMLElement).dataset.state ?? "", output: t.querySelector(".output")?.textContent ?? "" })),
      })),
    }));
  async function until<T>(page: Page, what: string, probe: (s: Shown) => T | undefined | false, ms = 15_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const s = await shown(page);
      lastSeen = JSON.stringify(s);
      const v = probe(s);
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the page shows: ${lastSeen}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  const open = async () => {
    const page = await browser.newPage();
    page.on("pageerror", (e) => console.error("page error:", e.message));
    if (process.env.CHAT_DEBUG) page.on("websocket", (ws) => { ws.on("framereceived", (f) => console.error("recv", String(f.payload).slice(0, 300))); ws.on("framesent", (f) => console.error("sent", String(f.payload).slice(0, 300))); });
    await page.goto(`${srv.url}/agents/sandbox-chat/${name}`);
    await page.waitForSelector('main[data-connected="true"]', { timeout: 15_000 });
    return page;
  };
  const say = async (page: Page, text: string) => {
    await page.fill("input[name=text]", text);
    await page.press("input[name=text]", "Enter");
  };
  const stored = async () => (await (await fetch(`${srv.url}/agents/sandbox-chat/${name}/get-messages`)).json()) as { role: string }[];
  const texts = (s: Shown) => s.messages.map((m) => `${m.role}: ${m.text}`);
  const COUNT = Array.from({ length: 90 }, (_, i) => `${i + 1} `).join("");

  it("streams an answer, resumes it after a reload, runs an approved command in the sandbox (not a rejected one), keeps the chat across a restart and clears it", async () => {
    let page = await open();
    assert.equal(await page.getAttribute("main", "data-status"), "ready");

    // A message and its streamed answer: seen in part while it streams, then whole.
    await say(page, "hello");
    await until(page, "the answer streaming", (s) => s.status === "streaming" && s.messages[1] && s.messages[1].text.length < DEMO_HELP.length);
    await until(page, "the whole answer", (s) => s.status === "ready" && texts(s).join("|") === `user: hello|assistant: ${DEMO_HELP}`);

    // A reload mid-answer: the new page starts from the stored transcript and resumes the answer, nothing twice.
    // Past 40 numbers, so the replay joins a long run of deltas (src/agents/chat/replay.ts).
    await say(page, "count to 90");
    await until(page, "40 numbers", (s) => s.messages[3]?.text.includes(" 40 "));
    assert.equal((await shown(page)).status, "streaming", "the reload comes mid-answer");
    await page.reload();
    await page.waitForSelector('main[data-connected="true"]');
    await until(page, "the resumed answer", (s) => s.status === "ready" && s.messages[3]?.text === COUNT);
    assert.deepEqual(texts(await shown(page)), [`user: hello`, `assistant: ${DEMO_HELP}`, "user: count to 90", `assistant: ${COUNT}`]);

    // A shell command waits for approval; approved, it runs in the chat's own sandbox.
    await say(page, "run echo made by the chat > /workspace/note.txt && cat /workspace/note.txt && uname -s");
    await until(page, "the approval request", (s) => s.messages[5]?.tools[0]?.state === "approval-requested");
    await page.click(".tool .approve");
    const tool = await until(page, "the command's output", (s) => s.messages[5]?.tools[0]?.state === "output-available" && s.messages[5].tools[0], 60_000);
    assert.match(tool.output, /exit code 0\nstdout:\nmade by the chat\nLinux/);
    await until(page, "the model's answer about it", (s) => s.status === "ready" && s.messages[5]?.text === "The command finished with exit code 0. Its output ends with: Linux");
    const file = await srv.burrow.sandbox(`sandbox-chat-${name}`).readFile("/workspace/note.txt");
    assert.equal(file.content, "made by the chat\n");

    // A second command is left waiting for approval across a server restart.
    await say(page, "run cat /workspace/note.txt");
    await until(page, "a second approval request", (s) => s.messages[7]?.tools[0]?.state === "approval-requested" && s.status === "ready");
    await page.close();
    await srv.stop();
    await srv.restart();

    // The conversation survived; the paused run resumes when the person approves now.
    page = await open();
    await until(page, "the stored transcript", (s) => s.messages.length === 8 && s.messages[3]?.text === COUNT && s.messages[7]?.tools[0]?.state === "approval-requested");
    await page.click(".tool .approve");
    await until(page, "the second command's output", (s) => s.messages[7]?.tools[0]?.state === "output-available" && s.messages[7].tools[0].output.includes("made by the chat"), 60_000);
    await until(page, "the answer", (s) => s.status === "ready" && s.messages[7]?.text === "The command finished with exit code 0. Its output ends with: made by the chat");
    const kept = await stored();
    assert.equal(kept.length, 8);
    assert.match(JSON.stringify(kept[7]), /Its output ends with: made by the chat/);

    // A rejected command does not run.
    await say(page, "run rm -f /workspace/note.txt");
    await until(page, "a third approval request", (s) => s.messages[9]?.tools[0]?.state === "approval-requested" && s.status === "ready");
    await page.click(".tool .reject");
    await until(page, "the answer to a rejection", (s) => s.status === "ready" && s.messages[9]?.text === "All right, I did not run it.");
    assert.equal((await srv.burrow.sandbox(`sandbox-chat-${name}`).readFile("/workspace/note.txt")).content, "made by the chat\n");

    // Clear: the page and the store are empty, also after a reload.
    await page.click("#clear");
    await until(page, "an empty chat", (s) => s.messages.length === 0);
    for (let i = 0; (await stored()).length && i < 100; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await stored(), []);
    await page.reload();
    await page.waitForSelector('main[data-connected="true"]');
    await page.waitForSelector("#empty");
    assert.equal((await shown(page)).messages.length, 0);
    await page.close();
  });

  it("serves its page and script, and refuses other paths", async () => {
    const html = await fetch(`${srv.url}/agents/sandbox-chat/${name}`);
    assert.equal(html.status, 200);
    assert.match(await html.text(), new RegExp(`src="/agents/sandbox-chat/${name}/chat.js"`));
    const js = await fetch(`${srv.url}/agents/sandbox-chat/${name}/chat.js`);
    assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.ok((await js.text()).length > 1000);
    assert.equal((await fetch(`${srv.url}/agents/sandbox-chat/${name}/elsewhere`)).status, 404);
    assert.equal((await fetch(`${srv.url}/agents/sandbox-chat/${name}`, { method: "POST" })).status, 405);
  });
});
