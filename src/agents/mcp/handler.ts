import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";

/**
 * An agent's `onRequest` for MCP: the Streamable HTTP transport, stateless,
 * with JSON answers. Each request connects `server` to a transport of its
 * own and disconnects it after; requests are handled one at a time (an MCP
 * server holds one transport), so tools see the agent's state in order.
 * The SDK is loaded on the first request, not when the agents module loads.
 */
export function createMcpHandler(server: McpServer): (request: Request) => Promise<Response> {
  let queue: Promise<unknown> = Promise.resolve();
  return (request) => {
    // Stateless: no standalone SSE stream to hold open (it would hold the agent's queue), no session to delete.
    if (request.method !== "POST") return Promise.resolve(new Response(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message: "this MCP server is stateless: POST requests only" }, id: null }), { status: 405, headers: { allow: "POST", "content-type": "application/json" } }));
    const run = queue.then(() => serve(server, request));
    queue = run.catch(() => {});
    return run;
  };
}

async function serve(server: McpServer, request: Request): Promise<Response> {
  const { WebStandardStreamableHTTPServerTransport } = await import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js");
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await server.connect(transport);
  try {
    const response = await transport.handleRequest(request);
    // The answer is complete JSON by now; read it before the transport closes.
    const body = await response.arrayBuffer();
    return new Response(body.byteLength ? body : null, { status: response.status, headers: response.headers });
  } finally {
    await server.close();
  }
}
