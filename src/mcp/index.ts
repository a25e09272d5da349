/**
 * MCP: Burrow's sandboxes as tools any MCP client can call, over the
 * Streamable HTTP transport at `/mcp` (bearer token) and over stdio
 * (`burrow mcp`). Agents that are MCP servers live in the agents domain
 * (`McpAgent`).
 */
export { McpGateway, type McpGatewayOptions } from "./http-gateway.js";
export { serveStdio } from "./stdio.js";
export { SandboxPool, type SandboxFactory } from "./sandbox-pool.js";
export { sandboxMcpServer } from "./sandbox-tools.js";
