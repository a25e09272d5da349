import { Agent, callable, type StreamingResponse } from "../../src/agents/index.js";
import { pageScriptResponse } from "./page-script.js";

/**
 * The smallest useful agent: a count that every connected client sees change.
 * A browser that opens GET /agents/counter/<name> gets the agent's own live page
 * (counter-page.ts, over the unmodified AgentClient); programs get the count as JSON.
 */
export class Counter extends Agent<unknown, { count: number }> {
  initialState = { count: 0 };

  /** Add `by` (default 1) and return the new count. */
  @callable()
  increment(by = 1): number {
    const count = this.state.count + by;
    this.setState({ count });
    return count;
  }

  @callable()
  get(): number {
    return this.state.count;
  }

  /** Count up to `to`, streaming each number. */
  @callable({ streaming: true })
  async countTo(stream: StreamingResponse, to: number): Promise<void> {
    for (let i = 1; i <= to; i++) stream.send(i);
    stream.end(to);
  }

  override onRequest(request: Request): Response {
    const path = new URL(request.url).pathname.replace(/\/+$/, "");
    if (request.method === "GET" && path.endsWith("/counter.js")) return pageScriptResponse("counter-page.js");
    const wantsPage = request.method === "GET" && (request.headers.get("accept") ?? "").includes("text/html");
    if (wantsPage && path.split("/").length === 4) return new Response(page(path, this.name), { headers: { "content-type": "text/html; charset=utf-8" } });
    return Response.json({ name: this.name, count: this.state.count, method: request.method });
  }
}

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

const page = (path: string, name: string) => `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Counter ${escape(name)}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:36em;color:#222}
#count{font-size:4em;font-weight:600;margin:.2em 0}#status{color:#777;font-size:.9em}#status[data-state=connected]{color:#176f2c}
button{font:inherit;padding:.4em .9em;margin-right:.5em;cursor:pointer}#streamed{font-family:monospace;margin:.8em 0}
#changes{color:#555;font-size:.9em;padding-left:1.2em}
</style>
<h1>Counter <small>${escape(name)}</small></h1>
<p id="status">connecting…</p>
<div id="count">…</div>
<p><button id="increment">+1</button><button id="count-to">Count to 5</button></p>
<div id="streamed"></div>
<h2>Changes</h2><ul id="changes"></ul>
<script type="module" src="${escape(path)}/counter.js"></script></html>`;
