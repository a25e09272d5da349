import type { ServerResponse } from "node:http";

const HEARTBEAT_MS = 15_000;

/** A server-sent-events stream with heartbeats, so proxies and clients know it is alive. */
export class SseStream {
  private readonly beat: NodeJS.Timeout;

  constructor(private readonly res: ServerResponse) {
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
    clearInterval(this.beat);
    if (!this.res.writableEnded) this.res.end();
  }

  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }
}
