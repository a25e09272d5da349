import { createConnection, createServer } from "node:net";
import { EGRESS_PORT, EGRESS_SOCKET } from "./env.js";
import { splice } from "../lib/splice.js";

/** What a program is told while the server is away (restarting, say): a proxy error it can report and retry, not a reset. */
const AWAY_BODY = "burrow: the egress proxy is restarting; retry in a moment\n";
const AWAY = `HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: ${AWAY_BODY.length}\r\n\r\n${AWAY_BODY}`;

/**
 * The sandbox's only way out: an HTTP proxy address on loopback inside
 * (HTTP_PROXY points here) whose every connection is piped, byte for byte, to
 * the server's egress proxy over the bind-mounted unix socket. Policy lives on
 * the server; this side only carries bytes. The sandbox outlives server
 * restarts (live restore): while nobody listens on the socket, each new
 * connection gets a 503 answer, and the first one after the server is back
 * goes through.
 */
export function startEgressBridge(): void {
  const server = createServer((inside) => {
    const out = createConnection(EGRESS_SOCKET);
    const refuse = () => {
      inside.on("error", () => {});
      inside.end(AWAY);
    };
    out.once("error", refuse);
    out.once("connect", () => {
      out.off("error", refuse);
      splice(inside, out);
    });
  });
  server.on("error", (err) => console.error("egress bridge:", err.message));
  server.listen(EGRESS_PORT, "127.0.0.1");
}
