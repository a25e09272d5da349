import { request, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { BurrowError, SandboxId } from "../contract/index.js";
import { sendError } from "../lib/http-json.js";
import { splice } from "../lib/splice.js";
import type { SandboxManager } from "../sandboxes/index.js";
import { withoutSessionCookies } from "../web/index.js";

export interface PreviewTarget {
  sandboxId: string;
  port: number;
  token: string;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"]);

/** A DNS label holds at most 63 bytes; resolvers and browsers refuse longer ones. */
const MAX_LABEL = 63;

/**
 * Preview URLs: `http://<port>-<sandbox>-<token>.<previewHost>:<serverPort>/`,
 * or, when that first label would pass 63 bytes (long ids),
 * `http://<port>-<token>.<sandbox>.<previewHost>:<serverPort>/`: every label
 * stays valid for every valid id (ids are at most 63, tokens at most 57).
 * Requests are routed by their Host header, before any token check of the
 * admin API: the preview token in the name is the credential. HTTP (streamed
 * both ways, redirects passed through) and WebSocket upgrades go over the
 * runtime's tunnel to 127.0.0.1:<port> inside the sandbox.
 */
export class PreviewProxy {
  private readonly oneLabel: RegExp;
  private readonly twoLabels: RegExp;

  constructor(
    private readonly sandboxes: SandboxManager,
    readonly previewHost: string,
  ) {
    const escaped = previewHost.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    // Neither form's leading part holds a dot where the other has one, so a host matches at most one.
    this.oneLabel = new RegExp(`^(\\d{1,5})-([a-z0-9-]+)-([a-z0-9]{4,64})\\.${escaped}(?::\\d+)?$`);
    this.twoLabels = new RegExp(`^(\\d{1,5})-([a-z0-9]{4,64})\\.([a-z0-9-]{1,63})\\.${escaped}(?::\\d+)?$`);
  }

  /** The preview host name of a port (no scheme, no server port). */
  host(sandboxId: string, port: number, token: string): string {
    const single = `${port}-${sandboxId}-${token}`;
    return single.length <= MAX_LABEL ? `${single}.${this.previewHost}` : `${port}-${token}.${sandboxId}.${this.previewHost}`;
  }

  url(sandboxId: string, port: number, token: string, serverPort: number): string {
    return `http://${this.host(sandboxId, port, token)}:${serverPort}/`;
  }

  /** The preview a Host header names, or undefined for the admin API. */
  match(host: string | undefined): PreviewTarget | undefined {
    const h = (host ?? "").toLowerCase();
    const one = this.oneLabel.exec(h);
    const two = one ? undefined : this.twoLabels.exec(h);
    const t = one ? { port: Number(one[1]), sandboxId: one[2]!, token: one[3]! } : two ? { port: Number(two[1]), sandboxId: two[3]!, token: two[2]! } : undefined;
    if (!t || !SandboxId.safeParse(t.sandboxId).success) return undefined;
    return t;
  }

  /** Check the token without waking anything, then wake the sandbox and open the tunnel. */
  private async open(t: PreviewTarget): Promise<Socket> {
    if (!this.sandboxes.ports.previewTarget(t.sandboxId, t.port, t.token))
      throw new BurrowError("NOT_FOUND", "no such preview URL: the port is not exposed, or the URL's token was revoked");
    const runtime = await this.sandboxes.runtime(t.sandboxId);
    return runtime.tunnel(t.port);
  }

  async handleRequest(req: IncomingMessage, res: ServerResponse, t: PreviewTarget): Promise<void> {
    let socket: Socket;
    try {
      socket = await this.open(t);
    } catch (err) {
      return sendError(res, err);
    }
    const release = this.sandboxes.hold(t.sandboxId);
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
    // The dashboard's session never reaches a sandbox.
    const cookie = withoutSessionCookies(req.headers.cookie);
    if (cookie) headers.cookie = cookie;
    else delete headers.cookie;
    // No agent: with createConnection, the request runs over the tunnel (an agent would dial port 80 instead).
    const up = request({ createConnection: () => socket, method: req.method, path: req.url, headers }, (upRes) => {
      const out: string[] = [];
      for (let i = 0; i < upRes.rawHeaders.length; i += 2)
        if (!HOP_BY_HOP.has(upRes.rawHeaders[i]!.toLowerCase())) out.push(upRes.rawHeaders[i]!, upRes.rawHeaders[i + 1]!);
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, out);
      upRes.pipe(res);
    });
    up.on("error", (err) => {
      if (res.headersSent) res.destroy();
      else sendError(res, new BurrowError("UPSTREAM_UNAVAILABLE", `the service on port ${t.port} did not answer: ${err.message}`));
    });
    res.on("close", () => {
      release();
      up.destroy();
    });
    req.pipe(up);
  }

  async handleUpgrade(req: IncomingMessage, client: Socket, head: Buffer, t: PreviewTarget): Promise<void> {
    client.on("error", () => client.destroy());
    let upstream: Socket;
    try {
      upstream = await this.open(t);
    } catch (err) {
      const e = err instanceof BurrowError ? err : new BurrowError("INTERNAL", String(err));
      const body = JSON.stringify(e.toJSON());
      client.end(`HTTP/1.1 ${e.status} ${e.code}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    const release = this.sandboxes.hold(t.sandboxId);
    let headText = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const value = req.rawHeaders[i]!.toLowerCase() === "cookie" ? withoutSessionCookies(req.rawHeaders[i + 1]) : req.rawHeaders[i + 1];
      if (value !== undefined) headText += `${req.rawHeaders[i]}: ${value}\r\n`;
    }
    upstream.write(headText + "\r\n");
    if (head.length) upstream.write(head);
    splice(upstream, client, release);
  }
}
