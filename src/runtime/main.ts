/**
 * The Burrow runtime: the program every sandbox runs (under burrow-init as
 * PID 1). It serves the server's requests on a unix socket in the
 * bind-mounted run directory and carries the sandbox's outbound traffic to the
 * server's egress proxy. Everything it does happens inside the sandbox.
 */
import { createServer } from "node:http";
import { mkdirSync, readFileSync, unlinkSync } from "node:fs";
import { baseEnv, DEFAULT_CWD, RUNTIME_CONFIG, RUNTIME_SOCKET } from "./env.js";
import { startEgressBridge } from "./egress-bridge.js";
import { installEgressTrust } from "./trust.js";
import { RuntimeRoutes } from "./routes.js";
import { handleTunnel } from "./port-tunnel.js";
import { spawner } from "./spawner.js";
import { sendError, toBurrowError } from "../lib/http-json.js";

function readConfig(): { env?: Record<string, string> } {
  try {
    const text = readFileSync(RUNTIME_CONFIG, "utf8");
    unlinkSync(RUNTIME_CONFIG);
    return JSON.parse(text);
  } catch {
    return {};
  }
}

process.on("uncaughtException", (err) => console.error("runtime: uncaught", err));
process.on("unhandledRejection", (err) => console.error("runtime: unhandled", err));
process.on("SIGTERM", () => process.exit(0));

/** The trust bundles are written before anything listens: no command starts before the files its variables name exist. */
async function start(): Promise<void> {
  // First: the spawner comes up while the rest of the start runs, so the sandbox's first command (often its first request) goes through it.
  spawner.begin();
  const config = readConfig();
  const env = baseEnv({ ...(await installEgressTrust()), ...(config.env ?? {}) });
  mkdirSync(DEFAULT_CWD, { recursive: true });

  const routes = new RuntimeRoutes(env);
  const server = createServer({ keepAliveTimeout: 60_000, highWaterMark: 1024 * 1024 }, (req, res) => {
    routes.handle(req, res).catch((err) => sendError(res, err));
  });
  server.on("connect", handleTunnel);
  server.on("upgrade", (req, socket, head) => {
    if (!req.url?.startsWith("/terminal")) return void socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
    routes.terminals.upgrade(req, socket, head).catch((err) => {
      const body = JSON.stringify(toBurrowError(err).toJSON());
      socket.end(`HTTP/1.1 ${toBurrowError(err).status} Error\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    });
  });
  server.headersTimeout = 0;
  server.requestTimeout = 0;

  try {
    unlinkSync(RUNTIME_SOCKET);
  } catch {
    /* first start */
  }
  server.listen(RUNTIME_SOCKET);
  startEgressBridge();
}
start().catch((err) => {
  console.error("runtime: could not start:", err);
  process.exit(1);
});
