import { createConnection, createServer } from "node:net";
import { EGRESS_PORT, EGRESS_SOCKET } from "./env.js";
import { splice } from "../lib/splice.js";

/**
 * The sandbox's only way out: an HTTP proxy address on loopback inside
 * (HTTP_PROXY points here) whose every connection is piped, byte for byte, to
 * the server's egress proxy over the bind-mounted unix socket. Policy lives on
 * the server; this side only carries bytes.
 */
export function startEgressBridge(): void {
  const server = createServer((inside) => {
    splice(inside, createConnection(EGRESS_SOCKET));
  });
  server.on("error", (err) => console.error("egress bridge:", err.message));
  server.listen(EGRESS_PORT, "127.0.0.1");
}
