import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { startTestServer, name, type TestServer } from "./helpers/server.js";

// The official MCP client (@modelcontextprotocol/sdk) against Burrow's /mcp and `burrow mcp`, with real sandboxes.
const CLI = new URL("../dist/cli.js", import.meta.url).pathname;

type Text = { content: { type: string; text: string }[]; isError?: boolean };
const textOf = (r: unknown) => (r as Text).content.map((c) => c.text).join("");

describe("MCP: sandboxes as tools for any MCP client", () => {
  let srv: TestServer;
  let client: Client;
  const sandboxes: string[] = [];
  const sb = (prefix: string) => {
    const id = name(prefix);
    sandboxes.push(id);
    return id;
  };
  const call = (tool: string, args: Record<string, unknown>) => client.callTool({ name: tool, arguments: args }, undefined, { timeout: 60_000 });

  before(async () => {
    srv = await startTestServer();
    client = new Client({ name: "burrow-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${srv.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${srv.token}` } } }));
  });
  after(async () => {
    await client?.close();
    for (const id of sandboxes) await srv.burrow.sandbox(id).destroy().catch(() => {});
    await srv?.cleanup();
  });

  it("lists the sandbox tools", async () => {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    assert.deepEqual(names, ["edit_file", "exec", "expose_port", "list_dir", "process_logs", "read_file", "run_code", "start_process", "write_file"]);
    const exec = tools.find((t) => t.name === "exec")!;
    assert.deepEqual((exec.inputSchema as { required?: string[] }).required?.sort(), ["command", "sandbox"]);
  });

  it("runs a command in a sandbox it creates on first use: exit code, stdout, stderr", async () => {
    const id = sb("mcp-exec");
    const r = await call("exec", { sandbox: id, command: "echo hello; echo oops >&2; exit 3" });
    assert.equal((r as Text).isError, undefined);
    assert.equal(textOf(r), "exit code: 3\n--- stdout ---\nhello\n\n--- stderr ---\noops\n");
    assert.equal((await srv.burrow.sandbox(id).info()).state, "running");
  });

  it("round-trips a file: write, read, edit, list, and as a resource", async () => {
    const id = sb("mcp-files");
    assert.match(textOf(await call("write_file", { sandbox: id, path: "/workspace/notes/a.txt", content: "one two three\n" })), /wrote 14 bytes/);
    assert.equal(textOf(await call("read_file", { sandbox: id, path: "/workspace/notes/a.txt" })), "one two three\n");
    assert.equal(textOf(await call("edit_file", { sandbox: id, path: "/workspace/notes/a.txt", old: "two", new: "2" })), "edited /workspace/notes/a.txt");
    const twice = await call("edit_file", { sandbox: id, path: "/workspace/notes/a.txt", old: "e", new: "E" });
    assert.equal((twice as Text).isError, true);
    assert.match(textOf(twice), /more than once/);
    assert.match(textOf(await call("list_dir", { sandbox: id, path: "/workspace/notes" })), /^file\s+12 a\.txt$/);
    const res = await client.readResource({ uri: `burrow://sandboxes/${id}/files/workspace/notes/a.txt` });
    assert.equal((res.contents[0] as { text: string }).text, "one 2 three\n");
    assert.equal(textOf(await call("exec", { sandbox: id, command: "cat a.txt", cwd: "/workspace/notes" })), "exit code: 0\n--- stdout ---\none 2 three\n\n--- stderr ---\n");
  });

  it("keeps an interpreter per language between run_code calls; runs background processes", async () => {
    const id = sb("mcp-code");
    await call("run_code", { sandbox: id, code: "x = 41" });
    assert.match(textOf(await call("run_code", { sandbox: id, code: "x + 1" })), /--- result ---\n42/);
    const err = await call("run_code", { sandbox: id, code: "1/0" });
    assert.equal((err as Text).isError, true);
    assert.match(textOf(err), /ZeroDivisionError/);
    const started = textOf(await call("start_process", { sandbox: id, command: "echo from-bg; sleep 30" }));
    const pid = /started process (\S+)/.exec(started)![1]!;
    let logs = "";
    for (let i = 0; i < 100 && !logs.includes("from-bg"); i++) {
      logs = textOf(await call("process_logs", { sandbox: id, id: pid }));
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(logs, /^status: running\n--- stdout ---\nfrom-bg\n/);
  });

  it("answers bad arguments and failures as errors, never a crash", async () => {
    const bad = await call("exec", { sandbox: "Not A Name!", command: "true" }).catch((e: Error) => ({ content: [{ type: "text", text: e.message }], isError: true }));
    assert.equal((bad as Text).isError, true);
    assert.match(textOf(bad), /DNS label/);
    const missing = await call("read_file", { sandbox: sb("mcp-err"), path: "/no/such/file" });
    assert.equal((missing as Text).isError, true);
    assert.match(textOf(missing), /FILE_NOT_FOUND/);
    const unknown = await client.callTool({ name: "no_such_tool", arguments: {} }).catch((e: Error) => ({ content: [{ type: "text", text: e.message }], isError: true }));
    assert.equal((unknown as Text).isError, true);
    // Still serving.
    assert.equal((await client.listTools()).tools.length, 9);
  });

  it("refuses clients without the token, and requests outside a session", async () => {
    const anon = new Client({ name: "anon", version: "1.0.0" });
    await assert.rejects(anon.connect(new StreamableHTTPClientTransport(new URL(`${srv.url}/mcp`))));
    const r = await fetch(`${srv.url}/mcp`, { method: "POST", headers: { authorization: `Bearer ${srv.token}`, "content-type": "application/json", accept: "application/json, text/event-stream" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }) });
    assert.equal(r.status, 400);
    assert.match((await r.json()).error.message, /initialize/);
    const notJson = await fetch(`${srv.url}/mcp`, { method: "POST", headers: { authorization: `Bearer ${srv.token}`, "content-type": "application/json" }, body: "{" });
    assert.equal((await notJson.json()).error.code, -32700);
  });

  it("serves the same tools over stdio (burrow mcp)", async () => {
    const stdio = new Client({ name: "stdio-test", version: "1.0.0" });
    await stdio.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp"], env: { BURROW_URL: srv.url, BURROW_TOKEN: srv.token, PATH: process.env.PATH ?? "" }, stderr: "pipe" }));
    try {
      assert.equal((await stdio.listTools()).tools.length, 9);
      const id = sb("mcp-stdio");
      await stdio.callTool({ name: "write_file", arguments: { sandbox: id, path: "/tmp/x", content: "via stdio" } });
      const r = await stdio.callTool({ name: "exec", arguments: { sandbox: id, command: "cat /tmp/x" } }, undefined, { timeout: 60_000 });
      assert.equal(textOf(r), "exit code: 0\n--- stdout ---\nvia stdio\n--- stderr ---\n");
    } finally {
      await stdio.close();
    }
  });
});
