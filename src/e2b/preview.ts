import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { createHmac } from "node:crypto";
import { SandboxId } from "../contract/index.js";
import type { SandboxManager } from "../sandboxes/index.js";
import { sameSecret } from "./mapping.js";

/** What this adapter needs of the server's preview proxy (src/server/preview.ts). */
export interface PreviewProxyLike {
  readonly previewHost: string;
  handleRequest(req: IncomingMessage, res: ServerResponse, t: { sandboxId: string; port: number; token: string }): Promise<void>;
  handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer, t: { sandboxId: string; port: number; token: string }): Promise<void>;
}

/**
 * `sbx.getHost(port)`: the SDK answers `<port>-<sandboxId>.<domain>`, with
 * the domain from the create answer. Burrow answers the domain
 * `<host token>.<previewHost>:<server port>`, the token an HMAC of the
 * sandbox id (a capability for its ports only, not its envd), and serves such
 * hosts through Burrow's own preview proxy: the port is exposed on first use.
 */
export class E2bPreviews {
  private proxy: PreviewProxyLike | undefined;
  private serverPort: () => number = () => 0;

  constructor(
    private readonly manager: SandboxManager,
    private readonly serverToken: string,
  ) {}

  use(proxy: PreviewProxyLike, serverPort: () => number): void {
    this.proxy = proxy;
    this.serverPort = serverPort;
  }

  tokenFor(sandboxId: string): string {
    return createHmac("sha256", this.serverToken).update(`e2b-host:${sandboxId}`).digest("hex").slice(0, 24);
  }

  /** The `domain` of a create or connect answer, when previews are served. */
  domainFor(sandboxId: string): string | undefined {
    if (!this.proxy) return undefined;
    return `${this.tokenFor(sandboxId)}.${this.proxy.previewHost}:${this.serverPort()}`;
  }

  private match(host: string | undefined): { sandboxId: string; port: number } | undefined {
    if (!this.proxy || !host) return undefined;
    const escaped = this.proxy.previewHost.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const m = new RegExp(`^(\\d{1,5})-([a-z0-9-]{1,63})\\.([a-f0-9]{24})\\.${escaped}(?::\\d+)?$`).exec(host.toLowerCase());
    if (!m || !SandboxId.safeParse(m[2]).success) return undefined;
    const port = Number(m[1]);
    if (port < 1 || port > 65535 || !sameSecret(m[3], this.tokenFor(m[2]!))) return undefined;
    return { sandboxId: m[2]!, port };
  }

  /** The preview target, exposing the port with the host's token unless Burrow already exposes it. */
  private async target(t: { sandboxId: string; port: number }) {
    const existing = this.manager.has(t.sandboxId) ? this.manager.ports.list(t.sandboxId).find((p) => p.port === t.port) : undefined;
    const token = existing?.token ?? (await this.manager.ports.expose(t.sandboxId, t.port, { token: this.tokenFor(t.sandboxId) })).token;
    return { ...t, token };
  }

  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const t = this.match(req.headers.host);
    if (!t || !this.proxy) return false;
    const proxy = this.proxy;
    if (!this.manager.has(t.sandboxId)) return void res.writeHead(502, { "content-type": "text/plain" }).end(`sandbox ${t.sandboxId} was not found`), true;
    this.target(t).then(
      (target) => proxy.handleRequest(req, res, target),
      (err: Error) => void res.writeHead(502, { "content-type": "text/plain" }).end(err.message),
    );
    return true;
  }

  handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): boolean {
    const t = this.match(req.headers.host);
    if (!t || !this.proxy) return false;
    const proxy = this.proxy;
    if (!this.manager.has(t.sandboxId)) return socket.end("HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"), true;
    this.target(t).then(
      (target) => proxy.handleUpgrade(req, socket, head, target),
      () => socket.end("HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"),
    );
    return true;
  }
}
