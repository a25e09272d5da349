import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import { EGRESS_PORT } from "./env.js";
import { tunnelTo } from "../lib/splice.js";

/**
 * CONNECT 127.0.0.1:PORT from the server: a byte pipe to a port inside the
 * sandbox, for preview URLs (HTTP and WebSocket alike). Only loopback inside
 * the sandbox can be reached, and not the egress bridge.
 */
export function handleTunnel(req: IncomingMessage, client: Socket, head: Buffer): void {
  const m = /^127\.0\.0\.1:(\d{1,5})$/.exec(req.url ?? "");
  const port = m ? Number(m[1]) : 0;
  client.on("error", () => client.destroy());
  if (!port || port > 65535 || port === EGRESS_PORT) {
    client.end("HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n");
    return;
  }
  tunnelTo(client, head, { host: "127.0.0.1", port }, () => client.end("HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\n\r\n"));
}
