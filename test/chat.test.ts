import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import WebSocket from "ws";
import { chromium, type Browser, type Page } from "playwright-core";
import { startTestServer, type TestServer } from "./helpers/server.js";

// Chat agents driven by their real clients: the unmodified useAgentChat of
// @cloudflare/ai-chat in Chromium, and raw frames for what a client would never
// send. The model is scripted (test/fixtures/chat-agents.ts): none runs here.
const FIXTURES = new URL("./fixtures/chat-agents.ts", import.meta.url).pathname;
const PAGE = new URL("./fixtures/chat-page.js", import.meta.url).pathname;
const uid = () => Math.random().toString(36).slice(2, 8);

/** What the test looked at last, for the failure message. */
let lastSeen: (() => string) | undefined;

type Frame = Record<string, unknown> & { type: string };

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastSeen ? `; last seen: ${lastSeen()}` : ""}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("chat agents, driven by @cloudflare/ai-chat's client", () => {
  let srv: TestServer;
  let browser: Browser;
  let scratch: string;
  const sockets: WebSocket[] = [];

  const raw = async (name: string, query = "") => {
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/agents/scripted-chat/${name}?_pk=${uid()}${query}`);
    sockets.push(ws);
    const frames: Frame[] = [];
    ws.on("message", (d) => frames.push(JSON.parse(d.toString())));
    await new Promise((r, j) => ws.once("open", r).once("error", j));
    return { ws, frames, send: (f: object) => ws.send(JSON.stringify(f)) };
  };
  const request = (id: string, text: string, messages: object[] = []) => ({
    type: "cf_agent_use_chat_request",
    id,
    init: { method: "POST", body: JSON.stringify({ messages: [...messages, { id: `u-${id}`, role: "user", parts: [{ type: "text", text }] }], trigger: "submit-message" }) },
  });
  /** The text an answer's frames add up to, applying each chunk once. */
  const answerText = (frames: Frame[], id: string) =>
    frames
      .filter((f) => f.type === "cf_agent_use_chat_response" && f.id === id && f.body)
      .map((f) => JSON.parse(f.body as string))
      .filter((c) => c.type === "text-delta")
      .map((c) => c.delta)
      .join("");

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), "burrow-chat-"));
    const bundle = join(scratch, "page.js");
    await build({ entryPoints: [PAGE], bundle: true, format: "esm", platform: "browser", outfile: bundle, define: { "process.env.NODE_ENV": '"production"' }, logLevel: "warning" });
    srv = await startTestServer({ args: ["--agents", FIXTURES], env: { CHAT_PAGE_BUNDLE: bundle } });
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  });
  after(async () => {
    for (const ws of sockets) ws.terminate();
    await browser?.close();
    await srv?.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  const state = (page: Page) => page.evaluate(() => (window as unknown as { chatState?: { messages: { id: string; role: string; parts: Record<string, unknown>[] }[]; status: string } }).chatState);
  const texts = async (page: Page) => ((await state(page))?.messages ?? []).map((m) => `${m.role}: ${m.parts.filter((p) => p.type === "text").map((p) => p.text).join("")}`);
  const open = async (name: string) => {
    const page = await browser.newPage();
    page.on("pageerror", (e) => console.error("page error:", e.message));
    if (process.env.CHAT_DEBUG) page.on("websocket", (ws) => { ws.on("framereceived", (f) => console.error("recv", String(f.payload).slice(0, 200))); ws.on("framesent", (f) => console.error("sent", String(f.payload).slice(0, 300))); });
    await page.goto(`${srv.url}/agents/scripted-chat/${name}/page`);
    await until("the chat to load and connect", async () => (await state(page)) && page.evaluate(() => (window as unknown as { chatConnected?: boolean }).chatConnected));
    let seen = "";
    lastSeen = () => seen;
    const poll = setInterval(() => void state(page).then((s) => (seen = JSON.stringify(s)), () => {}), 200);
    page.on("close", () => clearInterval(poll));
    page.on("console", (m) => console.error("page:", m.text()));
    return page;
  };

  it("sends a message and shows the streamed answer; the transcript is stored", async () => {
    const name = `basic-${uid()}`;
    const page = await open(name);
    await page.evaluate(() => (window as unknown as { chatSend(t: string): void }).chatSend("hello there"));
    await until("the answer", async () => (await texts(page)).join("|") === "user: hello there|assistant: echo: hello there" && (await state(page))?.status === "ready");
    const stored = await (await fetch(`${srv.url}/agents/scripted-chat/${name}/get-messages`)).json();
    assert.deepEqual(stored.map((m: { role: string }) => m.role), ["user", "assistant"]);
    assert.equal(stored[1].parts.find((p: { type: string }) => p.type === "text").text, "echo: hello there");
    await page.close();
  });

  it("a page reloaded mid-answer resumes it: the whole answer, nothing twice", async () => {
    const name = `resume-${uid()}`;
    const page = await open(name);
    await page.evaluate(() => (window as unknown as { chatSend(t: string): void }).chatSend("slow 25"));
    await until("a few words", async () => ((await texts(page))[1] ?? "").includes("w3 "));
    assert.equal((await state(page))?.status, "streaming", "the reload comes mid-answer");
    await page.reload();
    // The new page starts from the stored transcript (the question only) and resumes the answer.
    const full = Array.from({ length: 25 }, (_, i) => `w${i} `).join("");
    await until("the resumed answer to finish", async () => (await texts(page))[1] === `assistant: ${full}` && (await state(page))?.status === "ready", 15_000);
    assert.deepEqual(await texts(page), ["user: slow 25", `assistant: ${full}`]);
    await page.close();
  });

  it("a tool call waits for approval; approved, it runs and the answer continues", async () => {
    const name = `tool-${uid()}`;
    const page = await open(name);
    await page.evaluate(() => (window as unknown as { chatSend(t: string): void }).chatSend("shell"));
    const tool = () => state(page).then((s) => s?.messages[1]?.parts.find((p) => p.toolCallId === "call-1"));
    await until("the approval request", async () => (await tool())?.state === "approval-requested");
    await page.evaluate(() => (window as unknown as { chatApprove(id: string, ok: boolean): void }).chatApprove("approval-1", true));
    await until("the tool's output", async () => (await tool())?.state === "output-available");
    await until("the continued answer", async () => (await texts(page))[1] === "assistant: ran it");
    const stored = await (await fetch(`${srv.url}/agents/scripted-chat/${name}/get-messages`)).json();
    assert.equal(stored.length, 2, "the continuation extends the same assistant message");
    assert.deepEqual(stored[1].parts.find((p: { toolCallId?: string }) => p.toolCallId === "call-1").output, { stdout: "hi\n", exitCode: 0 });
    await page.close();
  });

  it("a page reloaded mid-continuation (after an approval) sees the tool's output and the whole answer, nothing twice", async () => {
    const name = `tool-reload-${uid()}`;
    const page = await open(name);
    await page.evaluate(() => (window as unknown as { chatSend(t: string): void }).chatSend("shell slow"));
    const tool = () => state(page).then((s) => s?.messages[1]?.parts.find((p) => p.toolCallId === "call-1"));
    await until("the approval request", async () => (await tool())?.state === "approval-requested");
    await page.evaluate(() => (window as unknown as { chatApprove(id: string, ok: boolean): void }).chatApprove("approval-1", true));
    await until("a few words after the tool", async () => ((await texts(page))[1] ?? "").includes("w3 "));
    await page.reload();
    const full = Array.from({ length: 25 }, (_, i) => `w${i} `).join("");
    await until("the continued answer to finish", async () => (await texts(page))[1] === `assistant: ${full}` && (await state(page))?.status === "ready", 15_000);
    // "ready", not "error": useAgentChat found the continued tool call (it used to fail with "No tool invocation found").
    assert.equal((await state(page))?.messages.length, 2);
    assert.equal((await tool())?.state, "output-available");
    assert.deepEqual(await texts(page), ["user: shell slow", `assistant: ${full}`]);
    await page.close();
  });

  it("a connection that joins mid-continuation gets the transcript and the chunks so far as live frames, then the rest", async () => {
    const name = `tool-join-${uid()}`;
    const a = await raw(name);
    a.send(request("r1", "shell slow"));
    await until("the approval request", () => a.frames.some((f) => f.done === true && f.id === "r1"));
    a.send({ type: "cf_agent_tool_approval", toolCallId: "call-1", approved: true, autoContinue: true });
    const continued = () => a.frames.find((f) => f.continuation === true)?.id as string | undefined;
    await until("a few words", () => continued() && answerText(a.frames, continued()!).includes("w3 "));
    const b = await raw(name);
    b.send({ type: "cf_agent_stream_resume_request", probeId: "p1" });
    await until("the continuation's end", () => b.frames.some((f) => f.done === true && f.continuation === true));
    const id = b.frames.find((f) => f.continuation === true)!.id as string;
    assert.ok(!b.frames.some((f) => f.type === "cf_agent_stream_resuming"), "no resume is offered during a continuation");
    assert.deepEqual(b.frames.find((f) => f.type === "cf_agent_stream_resume_none"), { type: "cf_agent_stream_resume_none", reason: "idle", probeId: "p1" });
    const first = b.frames.findIndex((f) => f.type === "cf_agent_use_chat_response");
    assert.equal(b.frames.slice(0, first).filter((f) => f.type === "cf_agent_chat_messages").length, 1, "the transcript comes before the chunks");
    const chunks = b.frames.filter((f) => f.type === "cf_agent_use_chat_response" && f.id === id && f.body);
    assert.deepEqual(chunks.map((f) => f.seq), chunks.map((_, i) => i), "every chunk once, in order");
    assert.ok(chunks.every((f) => f.continuation === true && f.replay === undefined));
    assert.equal(answerText(b.frames, id), Array.from({ length: 25 }, (_, i) => `w${i} `).join(""));
    assert.equal(answerText(a.frames, id), answerText(b.frames, id), "the same answer as the connection that asked");
  });

  it("stop() in the page cancels the answer on the server and keeps what streamed", async () => {
    const name = `stop-${uid()}`;
    const page = await open(name);
    await page.evaluate(() => (window as unknown as { chatSend(t: string): void }).chatSend("slow 200"));
    await until("a few words", async () => ((await texts(page))[1] ?? "").includes("w2 "));
    await page.evaluate(() => (window as unknown as { chatStop(): void }).chatStop());
    // The server stops the model and stores the partial answer well before 200 words could have streamed.
    const stored = await until("the partial answer stored", async () => {
      const m = await (await fetch(`${srv.url}/agents/scripted-chat/${name}/get-messages`)).json();
      return m.length === 2 && m;
    }, 5000);
    const words = stored[1].parts.find((p: { type: string }) => p.type === "text").text.trim().split(" ").length;
    assert.ok(words >= 3 && words < 100, `${words} words were stored`);
    await page.close();
  });

  it("clears the chat, and messages survive a server restart", async () => {
    const name = `restart-${uid()}`;
    let page = await open(name);
    await page.evaluate(() => (window as unknown as { chatSend(t: string): void }).chatSend("keep me"));
    await until("the answer", async () => (await texts(page))[1] === "assistant: echo: keep me");
    await page.close();
    await srv.stop();
    await srv.restart();
    page = await open(name);
    await until("the stored transcript", async () => (await texts(page)).join("|") === "user: keep me|assistant: echo: keep me");
    await page.evaluate(() => (window as unknown as { chatClear(): void }).chatClear());
    await until("an empty chat", async () => (await state(page))?.messages.length === 0);
    await until("the cleared store", async () => (await (await fetch(`${srv.url}/agents/scripted-chat/${name}/get-messages`)).json()).length === 0);
    await page.close();
  });

  it("a second client joining mid-answer is offered the stream and gets each chunk once", async () => {
    const name = `join-${uid()}`;
    const a = await raw(name);
    a.send(request("r1", "slow 12"));
    await until("a few chunks", () => answerText(a.frames, "r1").includes("w2 "));
    const b = await raw(name);
    const offer = await until("a resume offer", () => b.frames.find((f) => f.type === "cf_agent_stream_resuming"));
    assert.equal(offer.id, "r1");
    b.send({ type: "cf_agent_stream_resume_ack", id: "r1" });
    await until("the end", () => b.frames.some((f) => f.type === "cf_agent_use_chat_response" && f.done));
    const full = Array.from({ length: 12 }, (_, i) => `w${i} `).join("");
    assert.equal(answerText(b.frames, "r1"), full);
    assert.equal(answerText(a.frames, "r1"), full);
    const seqs = b.frames.filter((f) => f.type === "cf_agent_use_chat_response" && f.body).map((f) => f.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => i), "replayed and live chunks are numbered once each, in order");
    // Nothing in progress now: a probe is told so.
    b.send({ type: "cf_agent_stream_resume_request", probeId: "p1" });
    const none = await until("resume none", () => b.frames.find((f) => f.type === "cf_agent_stream_resume_none"));
    assert.deepEqual(none, { type: "cf_agent_stream_resume_none", reason: "idle", probeId: "p1" });
  });

  it("applies a tool result a client sends back, and tells every client", async () => {
    const name = `result-${uid()}`;
    const a = await raw(name);
    const b = await raw(name);
    a.send(request("r1", "shell"));
    await until("the answer", () => a.frames.some((f) => f.id === "r1" && f.done));
    a.send({ type: "cf_agent_tool_result", toolCallId: "call-1", toolName: "shell", output: { stdout: "from the client" } });
    const updated = await until("the update", () => b.frames.find((f) => f.type === "cf_agent_message_updated"));
    const part = (updated.message as { parts: { toolCallId?: string; state?: string; output?: unknown }[] }).parts.find((p) => p.toolCallId === "call-1");
    assert.deepEqual({ state: part?.state, output: part?.output }, { state: "output-available", output: { stdout: "from the client" } });
    const stored = await (await fetch(`${srv.url}/agents/scripted-chat/${name}/get-messages`)).json();
    assert.equal(stored[1].parts.find((p: { toolCallId?: string }) => p.toolCallId === "call-1").state, "output-available");
  });

  it("an answer cut off by a server stop is stored from the chunks that streamed", async () => {
    const name = `cut-${uid()}`;
    const a = await raw(name);
    a.send(request("r1", "slow 200"));
    await until("a few words", () => answerText(a.frames, "r1").includes("w4 "));
    await srv.stop();
    await srv.restart();
    const stored = await (await fetch(`${srv.url}/agents/scripted-chat/${name}/get-messages`)).json();
    assert.deepEqual(stored.map((m: { role: string }) => m.role), ["user", "assistant"]);
    assert.match(stored[1].parts.find((p: { type: string }) => p.type === "text").text, /^w0 w1 w2 w3 w4 /);
    // Nothing is left streaming: a probe is told the agent is idle.
    const b = await raw(name);
    b.send({ type: "cf_agent_stream_resume_request", probeId: "p" });
    assert.equal((await until("resume none", () => b.frames.find((f) => f.type === "cf_agent_stream_resume_none"))).reason, "idle");
  });

  it("a readonly connection follows the chat but cannot change it", async () => {
    const name = `ro-${uid()}`;
    const writer = await raw(name);
    writer.send(request("r1", "slow 6"));
    await until("a chunk", () => answerText(writer.frames, "r1").length > 0);
    const watcher = await raw(name, "&mode=readonly");
    await until("a resume offer", () => watcher.frames.some((f) => f.type === "cf_agent_stream_resuming"));
    watcher.send({ type: "cf_agent_stream_resume_ack", id: "r1" });
    watcher.send({ type: "cf_agent_chat_clear" });
    watcher.send(request("r2", "sneaky"));
    await until("the answer, followed", () => answerText(watcher.frames, "r1") === "w0 w1 w2 w3 w4 w5 ");
    await until("two refusals", () => watcher.frames.filter((f) => f.type === "cf_agent_chat_error").length === 2);
    assert.ok(watcher.frames.filter((f) => f.type === "cf_agent_chat_error").every((f) => f.code === "CHAT_READONLY"));
    await until("the answer stored", async () => (await (await fetch(`${srv.url}/agents/scripted-chat/${name}/get-messages`)).json()).length === 2);
  });

  it("cancels an answer when its client asks", async () => {
    const name = `cancel-${uid()}`;
    const a = await raw(name);
    a.send(request("r1", "slow 200"));
    await until("a chunk", () => answerText(a.frames, "r1").length > 0);
    a.send({ type: "cf_agent_chat_request_cancel", id: "r1" });
    const done = await until("the end", () => a.frames.find((f) => f.type === "cf_agent_use_chat_response" && f.done), 3000);
    assert.equal(done.outcome, "aborted");
    const stored = await (await fetch(`${srv.url}/agents/scripted-chat/${name}/get-messages`)).json();
    assert.equal(stored.length, 2, "what streamed before the cancel is kept");
    const words = stored[1].parts.find((p: { type: string }) => p.type === "text").text.trim().split(" ").length;
    assert.ok(words >= 1 && words < 100, `${words} words were stored: ${JSON.stringify(stored[1]).slice(0, 300)}`);
  });

  it("refuses malformed frames, unknown tool calls and oversized messages with codes; a model error ends the answer", async () => {
    const name = `bad-${uid()}`;
    const a = await raw(name);
    const errors = () => a.frames.filter((f) => f.type === "cf_agent_chat_error");
    a.send({ type: "cf_agent_use_chat_request", id: "x1", init: { method: "POST", body: "not json" } });
    a.send({ type: "cf_agent_use_chat_request", id: "x2", init: { method: "POST", body: JSON.stringify({ messages: "nope" }) } });
    a.send({ type: "cf_agent_tool_approval", toolCallId: 5 });
    a.send({ type: "cf_agent_tool_approval", toolCallId: "nobody", approved: true });
    a.send(request("x3", "x".repeat(3 * 1024 * 1024)));
    await until("five refusals", () => errors().length === 5 && a.frames.some((f) => f.id === "x3" && f.done));
    assert.deepEqual(errors().map((f) => f.code), ["CHAT_BAD_FRAME", "CHAT_BAD_FRAME", "CHAT_BAD_FRAME", "CHAT_TOOL_CALL_NOT_FOUND", "CHAT_MESSAGE_TOO_LARGE"]);
    for (const id of ["x1", "x2", "x3"]) assert.ok(a.frames.some((f) => f.id === id && f.done && f.error), `request ${id} ends with an error`);
    a.send(request("x4", "explode"));
    const failed = await until("the model error", () => a.frames.find((f) => f.id === "x4" && f.done));
    assert.equal(failed.error, true);
    assert.equal(failed.body, "the model broke");
    // The agent still answers.
    a.send(request("x5", "still here"));
    await until("an answer after all that", () => answerText(a.frames, "x5") === "echo: still here");
  });
});
