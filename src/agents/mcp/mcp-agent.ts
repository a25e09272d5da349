import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { Agent } from "../agent.js";
import { createMcpHandler } from "./handler.js";

/**
 * An agent that is an MCP server: its tools, resources and prompts are
 * served over Streamable HTTP at `/agents/<kebab-class>/<name>/mcp`, and
 * each name is its own server with its own state (`this.state`, `sql`) that
 * outlives restarts. Set `server` to an `McpServer` and register on it in
 * `init()`, which runs once per instance before the first MCP request.
 */
export abstract class McpAgent<Env = unknown, State = unknown> extends Agent<Env, State> {
  abstract server: McpServer;
  abstract init(): void | Promise<void>;
  private ready: Promise<void> | undefined;
  private handler: ((request: Request) => Promise<Response>) | undefined;

  constructor(name: string, env: Env) {
    super(name, env);
    const onRequest = this.onRequest;
    this.onRequest = (request: Request) => {
      const path = new URL(request.url).pathname;
      if (path.endsWith("/mcp")) return this.serveMcp(request);
      return onRequest.call(this, request);
    };
  }

  private async serveMcp(request: Request): Promise<Response> {
    this.ready ??= Promise.resolve(this.init()).catch((err) => {
      this.ready = undefined;
      throw err;
    });
    await this.ready;
    this.handler ??= createMcpHandler(this.server);
    return this.handler(request);
  }
}
