/**
 * MCP: Burrow's sandboxes as tools any MCP client can call, over the
 * Streamable HTTP transport at `/mcp` (bearer token) and over stdio
 * (`burrow mcp`). Agents that are MCP servers live in the agents domain
 * (`McpAgent`).
 */
export { McpGateway, type McpGatewayOptions } from "./http-gateway.js";
export { SandboxPool, type SandboxFactory } from "./sandbox-pool.js";

/** `burrow mcp`: loads the MCP SDK only for that command (see stdio.ts). */
export async function serveStdio(...args: Parameters<typeof import("./stdio.js").serveStdio>): Promise<void> {
  return (await import("./stdio.js")).serveStdio(...args);
}
