import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { Burrow } from "../client/index.js";
import { SandboxPool } from "./sandbox-pool.js";
import { sandboxMcpServer } from "./sandbox-tools.js";

/**
 * `burrow mcp`: the same sandbox tools over stdio, for MCP clients that
 * spawn a command. It talks to a running Burrow server through the SDK.
 * stdout carries the protocol, so nothing else may print there.
 */
export async function serveStdio(burrow: Burrow, version: string): Promise<void> {
  const server = sandboxMcpServer(new SandboxPool(() => (id) => burrow.sandbox(id, {})), version);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => (transport.onclose = () => resolve()));
  await server.connect(transport);
  await closed;
}
