import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { chmodSync, rmSync } from "node:fs";
import { decide, HostRules } from "./policy.js";
import { tunnelTo } from "../lib/splice.js";

export interface EgressOptions {
  /** Rules that let a sandbox reach hosts the default policy refuses (loopback test servers, for example). */
  allow: string[];
}

const MAX_HEADER = 16 * 1024;

/**
 * The server's end of every sandbox's outbound traffic. Each running sandbox
 * gets its own listening unix socket, so a connection is known to come from
 * that sandbox. It speaks the HTTP proxy protocol: CONNECT tunnels for TLS and
 * absolute-URI requests for plain HTTP.
 */
export class EgressProxy {
  private readonly allow: HostRules;

  constructor(options: EgressOptions) {
    this.allow = new HostRules(options.allow);
  }

  /** Listen for one sandbox; `owner` names it at the time of each connection (a pooled sandbox takes its name later). */
  async open(owner: () => string, socketPath: string): Promise<() => void> {
    rmSync(socketPath, { force: true });
    const server = createServer({ maxHeaderSize: MAX_HEADER, headersTimeout: 10_000, requestTimeout: 0 }, (req, res) =>
      void this.forward(owner(), req, res),
    );
    server.on("connect", (req: IncomingMessage, socket: Socket, head: Buffer) => void this.tunnel(owner(), req, socket, head));
    server.on("clientError", (_err, socket: Socket) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(socketPath, () => resolve()));
    chmodSync(socketPath, 0o666); // the sandbox's root is an unprivileged uid on the host
    return () => close(server, socketPath);
  }

  private async tunnel(sandboxId: string, req: IncomingMessage, client: Socket, head: Buffer): Promise<void> {
    client.on("error", () => client.destroy());
    const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(req.url ?? "");
    if (!m || Number(m[2]) > 65535) return refuseRaw(client, 400, "CONNECT needs host:port");
    const port = Number(m[2]);
    const d = await decide(m[1]!, port, this.allow);
    if (!d.allowed) return refuseRaw(client, 403, d.reason);
    tunnelTo(client, head, { host: d.address, port, family: d.family }, () => refuseRaw(client, 502, `could not connect to ${m[1]}:${port}`));
  }

  private async forward(sandboxId: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? "");
      if (url.protocol !== "http:") throw new Error();
    } catch {
      return refuse(res, 400, "send absolute http:// URLs to the proxy, or CONNECT for https");
    }
    const port = Number(url.port || 80);
    const d = await decide(url.hostname, port, this.allow);
    if (!d.allowed) return refuse(res, 403, d.reason);
    const headers = { ...req.headers };
    delete headers["proxy-connection"];
    delete headers["proxy-authorization"];
    const up = httpRequest(
      { host: d.address, family: d.family, port, method: req.method, path: url.pathname + url.search, headers, setHost: false },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.rawHeaders as unknown as Record<string, string>);
        upRes.pipe(res);
      },
    );
    up.on("error", (err) => (res.headersSent ? res.destroy() : refuse(res, 502, `upstream ${url.host}: ${err.message}`)));
    req.pipe(up);
  }
}

function refuse(res: ServerResponse, status: number, reason: string): void {
  const body = `burrow egress: ${reason}\n`;
  res.writeHead(status, { "content-type": "text/plain", "x-burrow-egress": "denied", "x-burrow-reason": reason.replace(/[^\x20-\x7e]/g, "?"), "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function refuseRaw(socket: Socket, status: number, reason: string): void {
  if (!socket.writable) return void socket.destroy();
  const body = `burrow egress: ${reason}\n`;
  const text = status === 403 ? "Forbidden" : status === 400 ? "Bad Request" : "Bad Gateway";
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain\r\nx-burrow-egress: denied\r\nx-burrow-reason: ${reason.replace(/[^\x20-\x7e]/g, "?")}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

function close(server: Server, socketPath: string): void {
  server.close();
  server.closeAllConnections();
  rmSync(socketPath, { force: true });
}
