import type { ServerResponse } from "node:http";
import { ndjson } from "../lib/ndjson.js";

const HEARTBEAT_MS = 15_000;

/** Streams open now, so a stopping server can end each with an explicit error instead of a cut. */
const open = new Set<SseStream>();

/** End every open stream with an `error` event carrying `code` (server shutdown). */
export function endOpenStreams(code: string, message: string): void {
  for (const s of [...open]) {
    s.send("error", { type: "error", code, message });
    s.end();
  }
}

/** A server-sent-events stream with heartbeats, so proxies and clients know it is alive. */
export class SseStream {
  private readonly beat: NodeJS.Timeout;

  constructor(private readonly res: ServerResponse) {
    open.add(this);
    res.on("close", () => open.delete(this));
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.flushHeaders();
    this.beat = setInterval(() => res.write(": keepalive\n\n"), HEARTBEAT_MS);
    res.on("close", () => clearInterval(this.beat));
  }

  send(event: string, data: unknown): void {
    if (!this.res.writableEnded) this.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  end(): void {
    open.delete(this);
    clearInterval(this.beat);
    if (!this.res.writableEnded) this.res.end();
  }

  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }
}

/**
 * Relay a runtime's NDJSON event stream as SSE events named by their `type`.
 * Returns whether a terminal event arrived; a stream that ends without one
 * gets an explicit error event, so a client never hangs on a dead sandbox.
 */
export async function relayNdjson(
  from: AsyncIterable<Buffer | string>,
  sse: SseStream,
  terminal: string[],
  endless = false,
  /** Why the stream broke off, when it can be told (a crash): replaces the generic error event. */
  explain?: () => Promise<{ code: string; message: string } | undefined>,
): Promise<boolean> {
  let ended = false;
  // `{sse, data}` names the SSE event apart from its payload; otherwise `type` names it.
  for await (const event of ndjson<{ type: string; sse?: string; data?: unknown }>(from)) {
    if (event.sse) sse.send(event.sse, event.data);
    else sse.send(event.type, event);
    if (terminal.includes(event.type)) ended = true;
  }
  const why = !ended && !sse.closed && explain ? await explain() : undefined;
  if (why && !sse.closed) sse.send("error", { type: "error", ...why });
  else if (!ended && !endless && !sse.closed) sse.send("error", { type: "error", code: "RUNTIME_UNAVAILABLE", message: "the sandbox stopped before the stream finished" });
  else if (!ended && endless && !sse.closed) sse.send("error", { type: "error", code: "RUNTIME_UNAVAILABLE", message: "the sandbox stopped; the stream is over" });
  return ended;
}
