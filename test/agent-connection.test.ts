import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { AgentClient } from "agents/client";
import { Agent, AgentHost, callable, type Connection, type ConnectionContext, type ConnectionMessageEvent } from "../src/agents/index.js";

interface Seen {
  request?: { method: string; url: string; header: string | null };
  onMessage: string[];
  listener: string[];
  closes: { code: number; reason: string; wasClean: boolean }[];
  readyStateInConnect?: number;
}

/** An agent whose "/socket" connections are handed to a listener, as a library would take them. */
export class Echo extends Agent<unknown, Seen> {
  initialState: Seen = { onMessage: [], listener: [], closes: [] };
  private raw = (ctx: ConnectionContext) => new URL(ctx.request.url).pathname.endsWith("/socket");

  shouldSendProtocolMessages(_c: Connection, ctx: ConnectionContext): boolean {
    return !this.raw(ctx);
  }

  onConnect(conn: Connection, ctx: ConnectionContext): void {
    if (!this.raw(ctx)) return;
    const url = new URL(ctx.request.url);
    this.setState({
      ...this.state,
      request: { method: ctx.request.method, url: url.pathname + url.search, header: ctx.request.headers.get("x-caller") },
      readyStateInConnect: conn.readyState,
    });
    if (url.searchParams.get("exclusive") === "1") conn.forwardToOnMessage = false;
    if (url.searchParams.get("binary") === "arraybuffer") conn.binaryType = "arraybuffer";
    const ignored = () => this.setState({ ...this.state, listener: [...this.state.listener, "removed listener ran"] });
    conn.addEventListener("message", ignored);
    conn.removeEventListener("message", ignored);
    conn.addEventListener("message", (e: ConnectionMessageEvent) => {
      if (typeof e.data === "string") {
        this.setState({ ...this.state, listener: [...this.state.listener, e.data] });
        conn.send(`echo:${e.data}`);
      } else {
        const kind = e.data instanceof ArrayBuffer ? "arraybuffer" : Buffer.isBuffer(e.data) ? "buffer" : "other";
        this.setState({ ...this.state, listener: [...this.state.listener, `${kind}:${Buffer.from(e.data as ArrayBuffer).toString("hex")}`] });
        conn.send(e.data as ArrayBuffer); // binary back, as it came
      }
    });
    conn.onclose = (e) => this.setState({ ...this.state, closes: [...this.state.closes, { code: e.code, reason: e.reason, wasClean: e.wasClean }] });
  }

  onMessage(_conn: Connection, message: string | Buffer): void {
    this.setState({ ...this.state, onMessage: [...this.state.onMessage, typeof message === "string" ? message : `bin:${message.toString("hex")}`] });
  }

  @callable() seen(): Seen {
    return this.state;
  }
}

const uid = () => Math.random().toString(36).slice(2, 8);
const waitFor = async <T>(what: string, f: () => T | undefined | Promise<T | undefined>, ms = 5000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe("an agent's Connection is a WebSocket-like object", () => {
  let dir: string;
  let host: AgentHost;
  let server: Server;
  let port: number;
  const seen = async (name: string): Promise<Seen> => {
    const c = new AgentClient({ agent: "Echo", name, host: `127.0.0.1:${port}`, WebSocket: WebSocket as never } as never);
    await c.ready;
    const s = (await c.call("seen", [])) as unknown as Seen;
    c.close();
    return s;
  };
  const open = async (path: string, headers: Record<string, string> = {}) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers });
    const frames: (string | Buffer)[] = [];
    ws.on("message", (d, isBinary) => frames.push(isBinary ? (d as Buffer) : d.toString()));
    await new Promise((r, j) => ws.once("open", r).once("error", j));
    return { ws, frames };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "burrow-conn-"));
    host = new AgentHost({ dataDir: dir, classes: [Echo] });
    server = createServer((req, res) => void (host.handleRequest(req, res) || res.writeHead(404).end()));
    server.on("upgrade", (req, socket, head) => void (host.handleUpgrade(req, socket, head) || socket.destroy()));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  });
  after(async () => {
    host.close();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it("gives onConnect the request, sends no protocol frames when asked not to, echoes text and binary, and reports the close", async () => {
    const name = `e-${uid()}`;
    const { ws, frames } = await open(`/agents/echo/${name}/socket?caller=phone`, { "x-caller": "twilio" });
    ws.send("hello");
    ws.send(Buffer.from([1, 2, 255]), { binary: true });
    await waitFor("two echoes", () => frames.length >= 2);
    assert.deepEqual(frames[0], "echo:hello", "the first frame is the echo: no identity or state frames on this socket");
    assert.ok(Buffer.isBuffer(frames[1]) && (frames[1] as Buffer).equals(Buffer.from([1, 2, 255])), "binary goes back as binary");
    ws.close(4001, "hang up");
    const s = await waitFor("the close", async () => ((await seen(name)).closes.length ? seen(name) : undefined));
    assert.deepEqual(s.request, { method: "GET", url: `/agents/echo/${name}/socket?caller=phone`, header: "twilio" });
    assert.equal(s.readyStateInConnect, 1);
    assert.deepEqual(s.listener, ["hello", "buffer:0102ff"], "listeners get every message, and a removed one gets none");
    assert.deepEqual(s.onMessage, ["hello", "bin:0102ff"], "onMessage still gets them: the rule unless the agent opts out");
    assert.deepEqual(s.closes, [{ code: 4001, reason: "hang up", wasClean: true }]);
  });

  it("hands binary as ArrayBuffer when binaryType says so, and keeps messages from onMessage when the agent opts out", async () => {
    const name = `e-${uid()}`;
    const { ws, frames } = await open(`/agents/echo/${name}/socket?exclusive=1&binary=arraybuffer`);
    ws.send(Buffer.from([7, 8]), { binary: true });
    ws.send("only for the listener");
    await waitFor("two echoes", () => frames.length >= 2);
    ws.close();
    const s = await waitFor("the close", async () => ((await seen(name)).closes.length ? seen(name) : undefined));
    assert.deepEqual(s.listener, ["arraybuffer:0708", "only for the listener"]);
    assert.deepEqual(s.onMessage, []);
  });

  it("keeps the agents protocol for AgentClient on the same class", async () => {
    const name = `e-${uid()}`;
    const { ws, frames } = await open(`/agents/echo/${name}`);
    await waitFor("identity and state", () => frames.length >= 2);
    assert.equal(JSON.parse(frames[0] as string).type, "cf_agent_identity");
    assert.equal(JSON.parse(frames[1] as string).type, "cf_agent_state");
    ws.close();
    assert.deepEqual((await seen(name)).listener, []);
  });
});
