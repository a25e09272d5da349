import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { SandboxPool, type SandboxFactory } from "./sandbox-pool.js";

let sdk: Promise<typeof import("./http-sdk.js")> | undefined;
/** The MCP SDK, loaded on the first request to `/mcp` (see http-sdk.ts). */
const loadSdk = () => (sdk ??= import("./http-sdk.js"));

export interface McpGatewayOptions {
  /** Whether a request carries Burrow's bearer token. */
  authorize(req: IncomingMessage): boolean;
  version: string;
  /** Sessions nobody has used for this long are closed. */
  idleMs?: number;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  lastUsed: number;
}

const MAX_BODY = 64 * 1024 * 1024;
const MAX_SESSIONS = 1000;

/**
 * `/mcp`: the MCP Streamable HTTP transport (POST for requests, GET for the
 * server's SSE stream, DELETE to end a session) in front of the sandbox
 * tools. One MCP session per client, made by its initialize request.
 */
export class McpGateway {
  private readonly sessions = new Map<string, Session>();
  private factory: SandboxFactory | undefined;
  private readonly pool = new SandboxPool(() => {
    if (!this.factory) throw new Error("the server is not listening yet");
    return this.factory;
  });
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: McpGatewayOptions) {
    const idle = options.idleMs ?? 30 * 60_000;
    this.sweeper = setInterval(() => {
      for (const [id, s] of this.sessions) if (Date.now() - s.lastUsed > idle) void this.end(id);
    }, Math.min(idle, 60_000));
    this.sweeper.unref();
  }

  /** Sandboxes are reached through the server's own API (set once it listens). */
  useSandboxes(factory: SandboxFactory): void {
    this.factory = factory;
  }

  /** Handle `/mcp`; false for any other path. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/mcp") return false;
    void this.serve(req, res).catch((err) => {
      console.error("mcp request failed:", err);
      if (!res.headersSent) rpcError(res, 500, -32603, "internal error");
      else res.destroy();
    });
    return true;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.options.authorize(req)) {
      res.writeHead(401, { "content-type": "application/json", "www-authenticate": "Bearer" });
      return void res.end(JSON.stringify({ code: "UNAUTHORIZED", message: "send Burrow's token as Authorization: Bearer <token>" }));
    }
    const sid = req.headers["mcp-session-id"];
    const sessionId = Array.isArray(sid) ? sid[0] : sid;
    if (sessionId) {
      const s = this.sessions.get(sessionId);
      if (!s) return rpcError(res, 404, -32001, "no such MCP session (it ended or the server restarted): initialize a new one");
      s.lastUsed = Date.now();
      const body = req.method === "POST" ? await readJson(req, res) : undefined;
      if (body === INVALID) return;
      return s.transport.handleRequest(req, res, body);
    }
    if (req.method !== "POST") return rpcError(res, 400, -32000, "no Mcp-Session-Id header: start with an initialize request (POST)");
    const body = await readJson(req, res);
    if (body === INVALID) return;
    const { StreamableHTTPServerTransport, isInitializeRequest, sandboxMcpServer } = await loadSdk();
    const first = Array.isArray(body) ? body[0] : body;
    if (!isInitializeRequest(first)) return rpcError(res, 400, -32000, "no Mcp-Session-Id header: the first request of a session is initialize");
    if (this.sessions.size >= MAX_SESSIONS) return rpcError(res, 503, -32000, `this server holds ${MAX_SESSIONS} MCP sessions; end one (DELETE /mcp) or wait for idle ones to close`);
    const server = sandboxMcpServer(this.pool, this.options.version);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      // Plain JSON answers: one write per call instead of an SSE stream per request.
      enableJsonResponse: true,
      onsessioninitialized: (id) => void this.sessions.set(id, { transport, server, lastUsed: Date.now() }),
    });
    transport.onclose = () => {
      if (transport.sessionId) this.sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  private async end(id: string): Promise<void> {
    const s = this.sessions.get(id);
    this.sessions.delete(id);
    await s?.server.close().catch(() => {});
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const id of [...this.sessions.keys()]) void this.end(id);
  }
}

const INVALID = Symbol("invalid");

/** The request's JSON body; answers a JSON-RPC parse error itself when it is not JSON. */
async function readJson(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) {
      rpcError(res, 413, -32600, `the request body is over ${MAX_BODY} bytes`);
      return INVALID;
    }
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    rpcError(res, 400, -32700, "the request body is not JSON");
    return INVALID;
  }
}

function rpcError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }));
}
