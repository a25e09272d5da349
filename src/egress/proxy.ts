import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { chmodSync, rmSync } from "node:fs";
import type { EgressAuditEvent } from "../contract/index.js";
import type { AuditLog } from "./audit.js";
import type { EgressCA } from "./ca.js";
import type { TrustSources } from "./trust.js";
import type { EgressHandler } from "./handlers.js";
import { type InterceptTarget, Interceptor, refuse } from "./intercept.js";
import { Bandwidth, ConnectionGate } from "./limits.js";
import { decide, decideHandled, type Policy } from "./policy.js";
import { authority, type UpstreamDialer } from "./upstream-proxy.js";

const MAX_HEADER = 16 * 1024;
/** How long a connection over a sandbox's limit waits for a free slot before it is refused. */
const QUEUE_WAIT_MS = 5_000;

/** One sandbox's rules as the proxy applies them. */
export interface EffectivePolicy extends Policy {
  maxConnections: number;
  bandwidthBytesPerSecond: number | null;
}

export interface EgressDeps {
  policyFor(sandboxId: string): EffectivePolicy;
  handlers: Record<string, EgressHandler>;
  ca: EgressCA;
  /** The CAs upstreams are verified against (the same sources as the sandboxes' bundle). */
  trust: TrustSources;
  audit: AuditLog;
  /** How allowed destinations are dialled: directly, or through the operator's upstream proxy. */
  dialer: UpstreamDialer;
  /** An open outbound connection is activity: the sandbox stays awake until the returned release is called. */
  hold(sandboxId: string): () => void;
}

/**
 * The server's end of every sandbox's outbound traffic. Each running sandbox
 * gets its own listening unix socket, so a connection is known to come from
 * that sandbox. It speaks the HTTP proxy protocol: CONNECT for TLS (tunnelled
 * untouched, or terminated when a handler is configured for the host) and
 * absolute-URI requests for plain HTTP. Every connection is audited.
 */
export class EgressProxy {
  private readonly interceptor: Interceptor;
  private readonly limits = new Map<string, { gate: ConnectionGate; bandwidth: Bandwidth }>();

  constructor(private readonly deps: EgressDeps) {
    this.interceptor = new Interceptor(deps.ca, deps.trust, deps.dialer);
  }

  /** Listen for one sandbox; `owner` names it at the time of each connection (a pooled sandbox takes its name later). */
  async open(owner: () => string, socketPath: string): Promise<() => void> {
    rmSync(socketPath, { force: true });
    const server = createServer({ maxHeaderSize: MAX_HEADER, headersTimeout: 10_000, requestTimeout: 0 }, (req, res) => void this.forward(owner(), req, res));
    server.on("connect", (req: IncomingMessage, socket: Socket, head: Buffer) => void this.tunnel(owner(), req, socket, head));
    server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
      const status = err.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : "400 Bad Request";
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(socketPath, () => resolve()));
    chmodSync(socketPath, 0o666); // the sandbox's root is an unprivileged uid on the host
    return () => close(server, socketPath);
  }

  /** Apply changed limits to connections from now on. */
  refresh(sandboxId: string): void {
    const l = this.limits.get(sandboxId);
    if (!l) return;
    const p = this.deps.policyFor(sandboxId);
    l.gate.max = p.maxConnections;
    l.bandwidth.bytesPerSecond = p.bandwidthBytesPerSecond;
  }

  /** Drop what is kept for a sandbox that is gone. */
  forget(sandboxId: string): void {
    this.limits.delete(sandboxId);
  }

  private limitsOf(sandboxId: string, p: EffectivePolicy) {
    let l = this.limits.get(sandboxId);
    if (!l) {
      l = { gate: new ConnectionGate(p.maxConnections, QUEUE_WAIT_MS), bandwidth: new Bandwidth(p.bandwidthBytesPerSecond) };
      this.limits.set(sandboxId, l);
    }
    return l;
  }

  /**
   * Take one of the sandbox's connection slots (waiting while it is at its
   * limit) and keep the sandbox awake until `until` closes.
   */
  private async admit(sandboxId: string, policy: EffectivePolicy, until: { once(event: "close", f: () => void): unknown }): Promise<{ bandwidth: Bandwidth } | { refused: string }> {
    const { gate, bandwidth } = this.limitsOf(sandboxId, policy);
    if (!(await gate.acquire())) return { refused: `this sandbox already has ${gate.max} outbound connections open (its maxConnections)` };
    const release = this.deps.hold(sandboxId);
    until.once("close", () => {
      gate.release();
      release();
    });
    return { bandwidth };
  }

  private target(sandboxId: string, host: string, port: number, handlerName: string, handler: EgressHandler, policy: EffectivePolicy, bandwidth: Bandwidth): InterceptTarget {
    return {
      sandboxId, host, port, handlerName, handler, policy, bandwidth,
      currentPolicy: () => this.deps.policyFor(sandboxId),
      audit: (e) => this.deps.audit.record(sandboxId, e),
    };
  }

  private audit(sandboxId: string, e: Partial<EgressAuditEvent> & Pick<EgressAuditEvent, "host" | "port" | "decision" | "mode">): void {
    this.deps.audit.record(sandboxId, {
      at: new Date().toISOString(), method: null, path: null, reason: null, handler: null, bytesOut: 0, bytesIn: 0, durationMs: 0, status: null, upstreamProxy: null, ...e,
    });
  }

  private async tunnel(sandboxId: string, req: IncomingMessage, client: Socket, head: Buffer): Promise<void> {
    client.on("error", () => client.destroy());
    const m = /^\[?([^\]\s]+?)\]?:(\d{1,5})$/.exec(req.url ?? "");
    if (!m || Number(m[2]) > 65535 || Number(m[2]) === 0) return refuseRaw(client, 400, "CONNECT needs host:port");
    const host = m[1]!;
    const port = Number(m[2]);
    const policy = this.deps.policyFor(sandboxId);
    const handlerName = policy.handlerFor(host, port);
    const handler = handlerName ? this.deps.handlers[handlerName] : undefined;
    // A handled host is never dialled by the proxy (the handler's fetch decides where to go), so it needs no address.
    const d = handler ? await decideHandled(host, port, policy) : await decide(host, port, policy);
    if (!d.allowed) {
      this.audit(sandboxId, { host, port, method: "CONNECT", decision: "denied", reason: d.reason, mode: "tunnel" });
      return refuseRaw(client, 403, d.reason);
    }
    const admitted = await this.admit(sandboxId, policy, client);
    if ("refused" in admitted) {
      this.audit(sandboxId, { host, port, method: "CONNECT", decision: "denied", reason: admitted.refused, mode: "tunnel" });
      return refuseRaw(client, 429, admitted.refused);
    }
    const { bandwidth } = admitted;
    if (handlerName && handler) return this.interceptor.adopt(client, head, this.target(sandboxId, host, port, handlerName, handler, policy, bandwidth));
    // No handler: bytes pass untouched (TLS stays end to end), counted and paced.
    const started = performance.now();
    let bytesOut = 0;
    let bytesIn = 0;
    const { address, family } = d as unknown as { address: string; family: number };
    // Dialled only now, after the decision, and at the address that was checked (also through an upstream proxy).
    const via = this.deps.dialer.proxyFor("tunnel", host, address, port);
    const upstreamProxy = via?.display ?? null;
    let upstream: Socket;
    try {
      upstream = (await this.deps.dialer.open(host, address, family, port)).socket;
    } catch (err) {
      const reason = via ? (err as Error).message : `could not connect to ${host}:${port}`;
      this.audit(sandboxId, { host, port, method: "CONNECT", decision: "allowed", reason, mode: "tunnel", status: 502, upstreamProxy, durationMs: Math.round(performance.now() - started) });
      return refuseRaw(client, 502, reason);
    }
    if (client.destroyed) return void upstream.destroy();
    client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.length) upstream.write(head);
    client.pipe(bandwidth.meter((n) => (bytesOut += n))).pipe(upstream);
    upstream.pipe(bandwidth.meter((n) => (bytesIn += n))).pipe(client);
    upstream.on("error", () => client.destroy());
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => {
      // A clean end reaches the client through the pipe, after what the meter still holds (ending the client here
      // cut large responses short under backpressure); only a connection torn without an end is cut at once.
      if (!upstream.readableEnded) client.destroy();
      this.audit(sandboxId, {
        host, port, method: "CONNECT", decision: "allowed", mode: "tunnel", bytesOut, bytesIn, durationMs: Math.round(performance.now() - started), upstreamProxy,
      });
    });
  }

  private async forward(sandboxId: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? "");
      if (url.protocol !== "http:") throw new Error();
    } catch {
      return refuse(res, 400, "send absolute http:// URLs to the proxy, or CONNECT for https");
    }
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const port = Number(url.port || 80);
    const policy = this.deps.policyFor(sandboxId);
    const handlerName = policy.handlerFor(host, port);
    const handler = handlerName ? this.deps.handlers[handlerName] : undefined;
    const d = handler ? await decideHandled(host, port, policy) : await decide(host, port, policy);
    if (!d.allowed) {
      this.audit(sandboxId, { host, port, method: req.method ?? null, path: url.pathname, decision: "denied", reason: d.reason, mode: "http", status: 403 });
      return refuse(res, 403, d.reason);
    }
    const admitted = await this.admit(sandboxId, policy, res);
    if ("refused" in admitted) {
      this.audit(sandboxId, { host, port, method: req.method ?? null, path: url.pathname, decision: "denied", reason: admitted.refused, mode: "http", status: 429 });
      return refuse(res, 429, admitted.refused);
    }
    const { bandwidth } = admitted;
    if (handlerName && handler)
      return this.interceptor.handle(req, res, this.target(sandboxId, host, port, handlerName, handler, policy, bandwidth), url.href, "http");
    const started = performance.now();
    let bytesOut = 0;
    let bytesIn = 0;
    let status: number | null = null;
    const { address, family } = d as unknown as { address: string; family: number };
    const via = this.deps.dialer.proxyFor("http", host, address, port);
    res.once("close", () =>
      this.audit(sandboxId, {
        host, port, method: req.method ?? null, path: url.pathname, decision: "allowed", mode: "http", bytesOut, bytesIn, status,
        durationMs: Math.round((performance.now() - started) * 10) / 10, upstreamProxy: via?.display ?? null,
      }),
    );
    const headers = { ...req.headers };
    delete headers["proxy-connection"];
    delete headers["proxy-authorization"];
    if (via?.authorization) headers["proxy-authorization"] = via.authorization;
    // Through an upstream proxy: absolute form naming the checked address; the Host header keeps the name.
    const to = via
      ? { host: via.host, port: via.port, path: `http://${authority(address, port)}${url.pathname}${url.search}` }
      : { host: address, family, port, path: url.pathname + url.search };
    const up = httpRequest(
      { ...to, method: req.method, headers, setHost: false },
      (upRes) => {
        status = upRes.statusCode ?? 502;
        res.writeHead(status, upRes.rawHeaders as unknown as Record<string, string>);
        upRes.pipe(bandwidth.meter((n) => (bytesIn += n))).pipe(res);
      },
    );
    up.on("error", (err) =>
      res.headersSent ? res.destroy() : refuse(res, 502, via ? `upstream ${url.host} through the upstream proxy ${via.display}: ${err.message}` : `upstream ${url.host}: ${err.message}`),
    );
    req.pipe(bandwidth.meter((n) => (bytesOut += n))).pipe(up);
  }
}

function refuseRaw(socket: Socket, status: number, reason: string): void {
  if (!socket.writable) return void socket.destroy();
  const body = `burrow egress: ${reason}\n`;
  const text = { 400: "Bad Request", 403: "Forbidden", 429: "Too Many Requests" }[status] ?? "Bad Gateway";
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain\r\nx-burrow-egress: denied\r\nx-burrow-reason: ${reason.replace(/[^\x20-\x7e]/g, "?")}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

function close(server: Server, socketPath: string): void {
  server.close();
  server.closeAllConnections();
  rmSync(socketPath, { force: true });
}
