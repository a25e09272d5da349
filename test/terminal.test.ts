import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import type { BurrowApiError, Sandbox } from "../src/client/index.js";
import { Screen } from "./helpers/screen.js";
import { name, startTestServer, type TestServer } from "./helpers/server.js";

describe("terminals", () => {
  let srv: TestServer;
  let sbx: Sandbox;
  before(async () => {
    srv = await startTestServer();
    sbx = srv.burrow.sandbox(name("term"));
  });
  after(() => srv.cleanup());

  it("runs a real shell on a PTY, xterm-256color, in /workspace", async () => {
    const t = await sbx.terminal({ cols: 100, rows: 30 });
    const screen = new Screen(t, 100, 30);
    t.write("echo TERM=$TERM; pwd; tty\r");
    const text = await screen.waitFor(/\/dev\/pts\/\d+/);
    assert.match(text, /TERM=xterm-256color/);
    assert.match(text, /\/workspace/);
    t.write("stty size\r");
    await screen.waitFor("30 100");
    await t.close();
  });

  it("resizes: stty size shows the new size", async () => {
    const t = await sbx.terminal({ cols: 80, rows: 24 });
    const screen = new Screen(t, 80, 24);
    t.write("stty size\r");
    await screen.waitFor("24 80");
    t.resize(132, 40);
    screen.resize(132, 40);
    t.write("clear; stty size\r");
    await screen.waitFor("40 132");
    await t.close();
  });

  it("replays output on reconnect, and several viewers see the same terminal", async () => {
    const a = await sbx.terminal({ terminalId: "shared" });
    const sa = new Screen(a);
    a.write("echo before-$((6*7))\r");
    await sa.waitFor("before-42");
    await a.close();
    const b = await sbx.terminal({ terminalId: "shared" });
    const sb = new Screen(b);
    await sb.waitFor("before-42"); // replayed from the terminal's buffer
    const c = await sbx.terminal({ terminalId: "shared" });
    const sc = new Screen(c);
    b.write("echo typed-in-$((1+1))\r");
    await sb.waitFor("typed-in-2");
    await sc.waitFor("typed-in-2");
    await b.close();
    await c.close();
  });

  it("keeps terminals independent of each other, and reports the shell's exit", async () => {
    const x = await sbx.terminal();
    const y = await sbx.terminal();
    const sx = new Screen(x);
    const sy = new Screen(y);
    x.write("cd /tmp; export ONLY_X=1\r");
    y.write("echo [$ONLY_X]; pwd\r");
    await sy.waitFor(/\[\]\s*\n.*\/workspace/);
    x.write("exit 7\r");
    assert.equal(await Promise.race([x.exited, new Promise((r) => setTimeout(() => r("no exit"), 5000))]), 7);
    await y.close();
    void sx;
  });

  it("starts in a session's directory with its variables", async () => {
    const s = await sbx.createSession({ id: "for-term" });
    await s.exec("cd /etc && export FROM_SESSION=hello");
    const t = await s.terminal();
    const screen = new Screen(t);
    t.write("echo $FROM_SESSION in $(pwd)\r");
    await screen.waitFor("hello in /etc");
    await t.close();
  });

  it("answers a plain HTTP request with 426, and refuses a missing token", async () => {
    const r = await srv.api("GET", `/v1/sandboxes/${sbx.id}/terminal`);
    assert.equal(r.status, 426);
    assert.equal((await r.json()).code, "UPGRADE_REQUIRED");
    const ws = new WebSocket(`${srv.url.replace("http", "ws")}/v1/sandboxes/${sbx.id}/terminal`);
    const status = await new Promise<number>((resolve, reject) => {
      ws.once("unexpected-response", (_q, res) => resolve(res.statusCode!));
      ws.once("open", () => reject(new Error("the terminal opened without a token")));
      setTimeout(() => reject(new Error("no answer to the terminal upgrade within 10 s")), 10_000).unref();
    });
    assert.equal(status, 401);
    await assert.rejects(sbx.terminal({ cols: 0 }), (e: BurrowApiError) => e.code === "VALIDATION_FAILED");
  });

  it("keeps the sandbox awake while a terminal is open", async () => {
    const id = name("term-awake");
    const s = srv.burrow.sandbox(id, { sleepAfter: 1 });
    const t = await s.terminal();
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await srv.burrow.get(id)).state, "running");
    await t.close();
  });
});
