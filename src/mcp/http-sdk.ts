/**
 * What `/mcp` needs of the MCP SDK, in a module of its own so the gateway
 * loads it on the first MCP request: the SDK and its schemas are ~100 ms of
 * module loading that a server start does not wait for.
 */
export { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
export { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
export { sandboxMcpServer } from "./sandbox-tools.js";
