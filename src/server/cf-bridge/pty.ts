/**
 * `GET /cf/v1/sandbox/:id/pty` as a WebSocket, the way the Cloudflare client
 * wants it: `{"type":"ready"}`, then terminal bytes both ways, then
 * `{"type":"exit","code":N}`. The terminal is the sandbox runtime's own (the
 * one behind /v1/sandboxes/:id/terminal). Its shell first prints its pid
 * (hidden from the client), so closing the socket ends the shell and all it
 * started instead of leaving them running.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { randomBytes, timingSafeEqual } from "node:crypto";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import { z } from "zod";
import { BurrowError, SandboxId } from "../../contract/index.js";
import type { SandboxManager } from "../../sandboxes/index.js";
import { openTerminalUpstream, refuseUpgrade, relayableCloseCode } from "../terminal-upstream.js";
import { readQuery } from "../../lib/http-json.js";

const PATH = /^\/cf\/v1\/sandbox\/([^/]+)\/pty$/;
const Query = z.object({
  cols: z.coerce.number().int().min(1).max(1000).optional(),
  rows: z.coerce.number().int().min(1).max(1000).optional(),
  authorization: z.string().max(1024).optional(),
});

/** The Cloudflare client reads `error` from a refusal's body. */
const refuse = (socket: Duplex, err: unknown) => refuseUpgrade(socket, err, (e) => ({ ...e.toJSON(), error: e.message }));

/** The bearer token from the Authorization header, or from `?authorization=Bearer ...` (clients that cannot set headers). */
function bearer(req: IncomingMessage, query: string | undefined): string {
  const h = req.headers.authorization ?? query ?? "";
  return h.startsWith("Bearer ") ? h.slice(7).trim() : "";
}

export class CfPtyGateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });

  constructor(
    private readonly sandboxes: SandboxManager,
    private readonly token: string,
  ) {}

  matches(pathname: string): boolean {
    return PATH.test(pathname);
  }

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on("error", () => socket.destroy());
    try {
      const url = new URL(req.url ?? "/", "http://burrow");
      const q = readQuery(Object.fromEntries(url.searchParams), Query);
      const given = Buffer.from(bearer(req, q.authorization));
      const want = Buffer.from(this.token);
      if (given.length !== want.length || !timingSafeEqual(given, want)) throw new BurrowError("UNAUTHORIZED", "send Authorization: Bearer <token> (the Cloudflare client's apiKey)");
      const idCheck = SandboxId.safeParse(decodeURIComponent(PATH.exec(url.pathname)![1]!));
      if (!idCheck.success) throw new BurrowError("INVALID_SANDBOX_ID", idCheck.error.issues[0]!.message);
      const id = idCheck.data;
      this.sandboxes.get(id); // SANDBOX_NOT_FOUND: the bridge never makes a sandbox by naming it
      const runtime = await this.sandboxes.runtime(id);
      const params = new URLSearchParams({ cols: String(q.cols ?? 80), rows: String(q.rows ?? 24) });
      const upstream = await openTerminalUpstream(`ws+unix://${runtime.socketPath}:/terminal?${params}`);
      const release = this.sandboxes.hold(id);
      const tag = randomBytes(4).toString("hex");
      const marker = new RegExp(`__BURROW_CFPTY_${tag} (\\d+)\\r?\\n`);
      this.wss.handleUpgrade(req, socket, head, (client) => {
        let pid: string | undefined;
        let held = "";
        let exited = false;
        const toClient = (data: RawData | string, binary: boolean) => client.readyState === WebSocket.OPEN && client.send(data, { binary });
        upstream.forward((data, isBinary) => {
          if (!isBinary) {
            let msg: { type?: string; code?: number };
            try {
              msg = JSON.parse(data.toString()) as { type?: string; code?: number };
            } catch {
              return;
            }
            if (msg.type === "ready") {
              // The shell says who it is; what it prints until then (prompt, echo) is not the client's.
              upstream.ws.send(Buffer.from(`printf '%s%s %s\\n' __BURROW_ CFPTY_${tag} $$\n`), { binary: true });
              return;
            }
            if (msg.type === "exit") exited = true;
            return toClient(JSON.stringify(msg), false);
          }
          if (pid !== undefined) return toClient(data as Buffer, true);
          held += data.toString();
          const m = marker.exec(held);
          if (!m) return;
          pid = m[1];
          toClient(JSON.stringify({ type: "ready" }), false);
          const rest = held.slice(m.index + m[0].length);
          held = "";
          if (rest) toClient(Buffer.from(rest), true);
        });
        client.on("message", (data, isBinary) => {
          if (upstream.ws.readyState !== WebSocket.OPEN) return;
          if (isBinary) return upstream.ws.send(data, { binary: true });
          // Text frames: a resize, or input sent as text.
          try {
            const msg = JSON.parse(data.toString()) as { type?: string };
            if (msg.type === "resize") return upstream.ws.send(data.toString());
          } catch {
            /* plain text: input */
          }
          upstream.ws.send(Buffer.from(data.toString()), { binary: true });
        });
        let ended = false;
        const end = (code?: number) => {
          if (ended) return;
          ended = true;
          release();
          // The shell and everything in its session go with the socket.
          if (!exited && pid)
            void runtime
              .send("POST", "/exec", { argv: ["/bin/sh", "-c", `pkill -KILL -s ${pid} 2>/dev/null || kill -KILL -- -${pid} 2>/dev/null; true`] })
              .then((r) => r.resume(), () => {});
          const c = relayableCloseCode(code);
          if (client.readyState === WebSocket.OPEN) client.close(c);
          if (upstream.ws.readyState === WebSocket.OPEN) upstream.ws.close();
        };
        client.on("close", () => end());
        client.on("error", () => end());
        upstream.ws.on("close", (code) => end(code));
        upstream.ws.on("error", () => end(1011));
      });
    } catch (err) {
      refuse(socket, err);
    }
  }
}
