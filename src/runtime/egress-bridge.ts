import { createConnection, createServer } from "node:net";
import { EGRESS_PORT, EGRESS_SOCKET } from "./env.js";

/**
 * The sandbox's only way out: an HTTP proxy address on loopback inside
 * (HTTP_PROXY points here) whose every connection is piped, byte for byte, to
 * the server's egress proxy over the bind-mounted unix socket. Policy lives on
 * the server; this side only carries bytes.
 */
export function startEgressBridge(): void {
  const server = createServer((inside) => {
    const out = createConnection(EGRESS_SOCKET);
    inside.pipe(out).pipe(inside);
    const end = () => {
      inside.destroy();
      out.destroy();
    };
    inside.on("error", end).on("close", end);
    out.on("error", end).on("close", end);
  });
  server.on("error", (err) => console.error("egress bridge:", err.message));
  server.listen(EGRESS_PORT, "127.0.0.1");
}
