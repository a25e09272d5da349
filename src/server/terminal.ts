import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";
import { z } from "zod";
import { BurrowError, SandboxId, SessionId } from "../contract/index.js";
import type { SandboxManager } from "../sandboxes/index.js";
import { openTerminalUpstream, refuseUpgrade, relayableCloseCode } from "./terminal-upstream.js";
import { readQuery } from "../lib/http-json.js";

const TerminalQuery = z.object({
  cols: z.coerce.number().int().min(1).max(1000).optional(),
  rows: z.coerce.number().int().min(1).max(1000).optional(),
  terminalId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { message: "terminalId is 1-64 letters, digits, dots, dashes or underscores" }).optional(),
  sessionId: SessionId.optional(),
  /** A terminal link's secret (POST /v1/sandboxes/:id/terminal-links); checked by `authorize`, never passed on. */
  link: z.string().max(256).optional(),
});

const PATH = /^\/v1\/sandboxes\/([^/]+)\/terminal$/;

const refuse = (socket: Duplex, err: unknown) => refuseUpgrade(socket, err);

/**
 * `GET /v1/sandboxes/:id/terminal` as a WebSocket: the server authenticates,
 * opens the runtime's terminal socket inside the sandbox first (so a refusal
 * is a plain HTTP error), then joins the two, frame for frame. An open
 * terminal keeps its sandbox awake.
 */
export class TerminalGateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  /** Clients joined now, so a stopping server can tell each why it goes (the terminal itself lives on in the runtime). */
  private readonly clients = new Set<WebSocket>();

  constructor(
    private readonly sandboxes: SandboxManager,
    /** Why this upgrade is refused (no bearer, no terminal link, no session from this origin), or undefined. */
    private readonly authorize: (req: IncomingMessage, sandboxId: string) => BurrowError | undefined,
  ) {}

  /** Close every joined client with `code` (1012, service restart, at a server stop): reattaching by terminalId replays what it missed. */
  closeAll(code: number, reason: string): void {
    for (const c of this.clients) if (c.readyState === WebSocket.OPEN) c.close(code, reason);
  }

  matches(pathname: string): boolean {
    return PATH.test(pathname);
  }

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on("error", () => socket.destroy());
    try {
      const url = new URL(req.url ?? "/", "http://burrow");
      const idCheck = SandboxId.safeParse(decodeURIComponent(PATH.exec(url.pathname)![1]!));
      const refused = this.authorize(req, idCheck.success ? idCheck.data : "");
      if (refused) throw refused;
      if (!idCheck.success) throw new BurrowError("INVALID_SANDBOX_ID", idCheck.error.issues[0]!.message);
      const q = readQuery(Object.fromEntries(url.searchParams), TerminalQuery);
      const id = idCheck.data;
      const runtime = await this.sandboxes.runtime(id);
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(q)) if (v !== undefined && k !== "link") params.set(k, String(v));
      const { ws: upstream, forward } = await openTerminalUpstream(`ws+unix://${runtime.socketPath}:/terminal?${params}`);
      const release = this.sandboxes.hold(id);
      this.wss.handleUpgrade(req, socket, head, (client) => {
        this.clients.add(client);
        client.on("close", () => this.clients.delete(client));
        client.on("message", (data, isBinary) => upstream.readyState === WebSocket.OPEN && upstream.send(data, { binary: isBinary }));
        forward((data, isBinary) => client.readyState === WebSocket.OPEN && client.send(data, { binary: isBinary }));
        const end = (code?: number, reason?: Buffer) => {
          release();
          const c = relayableCloseCode(code);
          if (client.readyState === WebSocket.OPEN) client.close(c, reason);
          if (upstream.readyState === WebSocket.OPEN) upstream.close();
        };
        client.on("close", () => end());
        // 1006: the runtime went without closing (a crash): the client is told so, not sent a normal close.
        upstream.on("close", (code, reason) => (code === 1006 ? end(1011, Buffer.from("the sandbox stopped: its runtime went away")) : end(code, reason)));
        client.on("error", () => end());
        upstream.on("error", () => end(1011));
      });
    } catch (err) {
      refuse(socket, err);
    }
  }
}
