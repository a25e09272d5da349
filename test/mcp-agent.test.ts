import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startTestServer, type TestServer } from "./helpers/server.js";

// McpAgent: an agent class served as an MCP server, driven by the official MCP client.
const FIXTURES = new URL("./fixtures/mcp-agents.ts", import.meta.url).pathname;
const uid = () => Math.random().toString(36).slice(2, 8);
const textOf = (r: unknown) => (r as { content: { text: string }[] }).content.map((c) => c.text).join("");

describe("McpAgent: stateful MCP servers as agents", () => {
  let srv: TestServer;
  const clients: Client[] = [];
  const connect = async (name: string) => {
    const c = new Client({ name: "test", version: "1.0.0" });
    await c.connect(new StreamableHTTPClientTransport(new URL(`${srv.url}/agents/tally/${name}/mcp`)));
    clients.push(c);
    return c;
  };

  before(async () => {
    srv = await startTestServer({ args: ["--agents", FIXTURES] });
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => {});
    await srv?.cleanup();
  });

  it("lists its tools and keeps state between calls, per agent name", async () => {
    const name = `t-${uid()}`;
    const c = await connect(name);
    assert.deepEqual((await c.listTools()).tools.map((t) => t.name).sort(), ["add", "read"]);
    assert.equal(textOf(await c.callTool({ name: "add", arguments: { by: 2, note: "first" } })), "2");
    assert.equal(textOf(await c.callTool({ name: "add", arguments: { by: 3 } })), "5");
    assert.equal(textOf(await c.callTool({ name: "read", arguments: {} })), `${name}: 5 (first)`);
    const res = await c.readResource({ uri: "tally://count" });
    assert.equal((res.contents[0] as { text: string }).text, "5");
    // Another name is another server with its own state.
    const other = await connect(`t-${uid()}`);
    assert.equal(textOf(await other.callTool({ name: "add", arguments: { by: 1 } })), "1");
  });

  it("refuses bad arguments with an error the client sees, and keeps serving", async () => {
    const c = await connect(`bad-${uid()}`);
    const r = await c.callTool({ name: "add", arguments: { by: "lots" } }).catch((e: Error) => ({ isError: true, content: [{ text: e.message }] }));
    assert.equal((r as { isError?: boolean }).isError, true);
    assert.equal(textOf(await c.callTool({ name: "add", arguments: { by: 1 } })), "1");
  });

  it("keeps its state across a server restart", async () => {
    const name = `r-${uid()}`;
    const c = await connect(name);
    await c.callTool({ name: "add", arguments: { by: 7, note: "before" } });
    await c.close();
    await srv.stop();
    await srv.restart();
    const again = await connect(name);
    assert.equal(textOf(await again.callTool({ name: "read", arguments: {} })), `${name}: 7 (before)`);
  });
});
