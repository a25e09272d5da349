import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { TLSSocket } from "node:tls";
import type { EgressCA } from "./ca.js";
import type { TrustSources } from "./trust.js";
import type { EgressHandler } from "./handlers.js";
import type { Bandwidth } from "./limits.js";
import { decideHandled, type Policy } from "./policy.js";
import { policyFetch } from "./upstream.js";
import type { UpstreamDialer } from "./upstream-proxy.js";
import type { EgressAuditEvent } from "../contract/index.js";

// Expect is answered here (Node sends "100 Continue" itself), so it is not passed on either.
const HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "expect"]);
const MAX_HEADER = 16 * 1024;

/** Everything a request on an intercepted connection needs to know about where it came from. */
export interface InterceptTarget {
  sandboxId: string;
  host: string;
  port: number;
  handlerName: string;
  handler: EgressHandler;
  policy: Policy;
  /** The sandbox's rules as they are now: a kept-alive TLS connection outlives the decision made at CONNECT. */
  currentPolicy: () => Policy;
  bandwidth: Bandwidth;
  audit: (e: EgressAuditEvent) => void;
}

/**
 * Requests that a handler answers. For HTTPS the proxy stands in for the
 * host with a certificate from the installation's CA; each request is turned
 * into a fetch `Request`, given to the handler, and its `Response` written
 * back. One audit event per request.
 */
export class Interceptor {
  private readonly server: Server;
  private readonly targets = new WeakMap<Socket, { target: InterceptTarget; scheme: "https" | "http" }>();

  constructor(
    private readonly ca: EgressCA,
    private readonly trust: TrustSources,
    private readonly dialer: UpstreamDialer,
  ) {
    this.server = createServer({ maxHeaderSize: MAX_HEADER, headersTimeout: 15_000, requestTimeout: 0, keepAliveTimeout: 30_000 }, (req, res) => {
      const t = this.targets.get(req.socket);
      if (!t) return void res.destroy();
      void this.handle(req, res, t.target, `${t.scheme}://${authority(t.target)}${req.url ?? "/"}`, "intercept");
    });
    this.server.on("clientError", (_e, socket: Socket) => socket.destroy());
  }

  /** Take over a CONNECT tunnel: TLS is terminated if the client starts a handshake, else plain HTTP is read. */
  adopt(client: Socket, head: Buffer, target: InterceptTarget): void {
    client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    const start = (first: Buffer) => {
      try {
        this.serve(client, first, target);
      } catch (err) {
        console.error(`burrow egress: could not intercept ${target.host}:${target.port} for ${target.sandboxId}:`, (err as Error).message);
        client.destroy();
      }
    };
    if (head.length) start(head);
    else client.once("data", start);
  }

  /** A TLS handshake starts with byte 0x16: terminate it as the host; anything else is read as plain HTTP. */
  private serve(client: Socket, first: Buffer, target: InterceptTarget): void {
    client.pause();
    if (first.length) client.unshift(first);
    if (first[0] === 0x16) {
      const tls = new TLSSocket(client, { isServer: true, secureContext: this.ca.contextFor(target.host), ALPNProtocols: ["http/1.1"] });
      tls.on("error", () => tls.destroy());
      this.targets.set(tls, { target, scheme: "https" });
      this.server.emit("connection", tls);
    } else {
      this.targets.set(client, { target, scheme: "http" });
      this.server.emit("connection", client);
    }
  }

  /** Answer one request with the handler; `url` is absolute. */
  async handle(req: IncomingMessage, res: ServerResponse, t: InterceptTarget, url: string, mode: EgressAuditEvent["mode"]): Promise<void> {
    const started = performance.now();
    let bytesOut = 0;
    let bytesIn = 0;
    let status: number | null = null;
    let decision: EgressAuditEvent["decision"] = "allowed";
    let reason: string | null = null;
    let upstreamProxy: string | null = null;
    const path = (() => {
      try {
        return new URL(url).pathname;
      } catch {
        return null;
      }
    })();
    res.on("close", () =>
      t.audit({
        at: new Date().toISOString(), host: t.host, port: t.port, method: req.method ?? null, path, decision, reason,
        handler: decision === "allowed" ? t.handlerName : null, mode, bytesOut, bytesIn, durationMs: Math.round((performance.now() - started) * 10) / 10, status,
        upstreamProxy,
      }),
    );
    let policy = t.policy;
    if (mode === "intercept") {
      // Each request on an intercepted connection is checked against the rules in force now, so a deny
      // (or a removed binding) set after the CONNECT stops the handler, and its credential, at once.
      policy = t.currentPolicy();
      const d = await decideHandled(t.host, t.port, policy);
      const refusal = !d.allowed ? d.reason : policy.handlerFor(t.host, t.port) !== t.handlerName ? `${t.host} is no longer bound to the handler ${t.handlerName}; reconnect` : null;
      if (refusal) {
        decision = "denied";
        reason = refusal;
        status = 403;
        return refuse(res, 403, refusal);
      }
    }
    try {
      const headers = new Headers();
      for (let i = 0; i < req.rawHeaders.length; i += 2) if (!HOP.has(req.rawHeaders[i]!.toLowerCase())) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
      const hasBody = req.method !== "GET" && req.method !== "HEAD";
      const body = hasBody ? (Readable.toWeb(req.pipe(t.bandwidth.meter((n) => (bytesOut += n)))) as unknown as ReadableStream) : null;
      const request = new Request(url, { method: req.method, headers, body, ...(body ? { duplex: "half" } : {}) } as RequestInit);
      let response: Response;
      try {
        response = await t.handler(request, { sandboxId: t.sandboxId, host: t.host, port: t.port, fetch: policyFetch(policy, this.trust, this.dialer, (via) => (upstreamProxy = via.display)) });
      } catch (err) {
        // The handler's own message may hold what it was protecting: only the server's log sees it.
        console.error(`burrow egress: handler ${t.handlerName} failed for ${t.sandboxId} -> ${t.host}:`, err);
        status = 502;
        return refuse(res, 502, `the egress handler ${t.handlerName} failed; the server's log has the details`);
      }
      status = response.status;
      const out: [string, string][] = [];
      response.headers.forEach((v, k) => {
        if (!HOP.has(k)) out.push([k, v]);
      });
      res.writeHead(response.status, out.flat());
      if (!response.body) return void res.end();
      Readable.fromWeb(response.body as unknown as WebReadableStream)
        .on("error", () => res.destroy())
        .pipe(t.bandwidth.meter((n) => (bytesIn += n)))
        .pipe(res);
    } catch (err) {
      status = 502;
      if (!res.headersSent) refuse(res, 502, `could not pass the request to ${t.host}: ${(err as Error).message}`);
      else res.destroy();
    }
  }
}

const authority = (t: InterceptTarget) => (t.port === 443 ? t.host : `${t.host}:${t.port}`);

export function refuse(res: ServerResponse, status: number, reason: string): void {
  const body = `burrow egress: ${reason}\n`;
  res.writeHead(status, {
    "content-type": "text/plain",
    "x-burrow-egress": "denied",
    "x-burrow-reason": reason.replace(/[^\x20-\x7e]/g, "?"),
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}
