import WebSocket from "ws";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startTestServer, type TestServer } from "../test/helpers/server.js";
import { median, ms, report, samples } from "./stats.js";

const AGENTS = new URL("./chat-agents.ts", import.meta.url).pathname;
const now = () => performance.timeOrigin + performance.now();
type Frame = { type: string; id?: string; body?: string; done?: boolean; replayComplete?: boolean };

async function socket(srv: TestServer, name: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/agents/bench-chat/${name}`);
  await new Promise((r, j) => ws.once("open", r).once("error", j));
  return ws;
}
const ask = (ws: WebSocket, id: string, text: string) =>
  ws.send(JSON.stringify({ type: "cf_agent_use_chat_request", id, init: { method: "POST", body: JSON.stringify({ messages: [{ id: `u-${id}`, role: "user", parts: [{ type: "text", text }] }] }) } }));

/** Chat agents (the @cloudflare/ai-chat wire protocol) and the sandbox MCP endpoint. */
export async function benchChatMcp(): Promise<void> {
  console.log("\n## Chat agents and MCP");
  const srv = await startTestServer({ args: ["--agents", AGENTS], env: { BURROW_SWEEP_MS: "5000" } });
  try {
    // First streamed chunk: from the moment the model made its first token to the client holding it.
    const ws = await socket(srv, "first-chunk");
    const lags: number[] = [];
    for (let i = 0; i < 60; i++) {
      const got = new Promise<number>((resolve) => {
        const on = (d: WebSocket.RawData) => {
          const f = JSON.parse(d.toString()) as Frame;
          if (f.id !== `q${i}` || !f.body) return;
          const c = JSON.parse(f.body) as { type: string; delta?: string };
          if (c.type === "text-delta") {
            ws.off("message", on);
            resolve(now() - Number(c.delta));
          }
        };
        ws.on("message", on);
      });
      ask(ws, `q${i}`, "quick");
      lags.push(await got);
      // Let the answer finish (it is stored) before the next one.
      await new Promise((r) => setTimeout(r, 20));
    }
    const warm = lags.slice(10);
    report("chat: first streamed chunk after the model's first token, p50", ms(median(warm)), "<= 2 ms", "", median(warm) <= 2);

    // Catch-up: a client joins a 10,000-token answer in progress and is replayed all of it.
    const catchUp: number[] = [];
    for (let i = 0; i < 5; i++) {
      const a = await socket(srv, `long-${i}`);
      // The whole answer so far has reached the first client before the second joins.
      const streamed = new Promise<void>((r) => a.on("message", (d) => d.toString().includes("tok9999 ") && r()));
      ask(a, "long", "long 10000");
      await streamed;
      // Listening before the socket opens: the resume offer can arrive in the upgrade's own packet.
      const b = new WebSocket(`ws://127.0.0.1:${srv.port}/agents/bench-chat/long-${i}`);
      const t = await new Promise<number>((resolve) => {
        let start = 0;
        b.on("message", (d) => {
          const f = JSON.parse(d.toString()) as Frame;
          if (f.type === "cf_agent_stream_resuming") {
            start = performance.now();
            b.send(JSON.stringify({ type: "cf_agent_stream_resume_ack", id: f.id }));
          } else if (f.replayComplete) resolve(performance.now() - start);
        });
      });
      catchUp.push(t);
      a.send(JSON.stringify({ type: "cf_agent_chat_request_cancel", id: "long" }));
      a.close();
      b.close();
    }
    report("chat: resumed stream's catch-up for a 10,000-token answer, p50", ms(median(catchUp)), "<= 50 ms", "", median(catchUp) <= 50);
    ws.close();

    // MCP: a tools/call that runs `true` in a sandbox, with the official client.
    const mcp = new Client({ name: "bench", version: "1.0.0" });
    await mcp.connect(new StreamableHTTPClientTransport(new URL(`${srv.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${srv.token}` } } }));
    const call = () => mcp.callTool({ name: "exec", arguments: { sandbox: "bench-mcp", command: "true" } }, undefined, { timeout: 60_000 });
    for (let i = 0; i < 20; i++) await call();
    const calls = await samples(100, call);
    report("MCP: tools/call exec `true` in a sandbox, p50", ms(median(calls)), "<= 8 ms", "", median(calls) <= 8);
    await mcp.close();
    await srv.burrow.sandbox("bench-mcp").destroy().catch(() => {});
  } finally {
    await srv.cleanup();
  }
}
