import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { decide, type Policy } from "./policy.js";
import type { TrustSources } from "./trust.js";
import { authority, type ProxyEndpoint, type UpstreamDialer } from "./upstream-proxy.js";

/** Hop-by-hop headers never travel past a proxy. */
const HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade", "host"]);

export class UpstreamRefused extends Error {}

/** Upstream connections are reused across requests (pooled by address, port and TLS name). */
const httpAgent = new HttpAgent({ keepAlive: true });
let httpsAgent: { key: string; agent: HttpsAgent } | undefined;

/** One HTTPS agent per set of trusted CAs: a changed --extra-ca-certs file gets a fresh pool. */
function httpsAgentFor(trust: TrustSources): HttpsAgent {
  const { key, ca } = trust.upstream();
  if (httpsAgent?.key !== key) {
    httpsAgent?.agent.destroy();
    httpsAgent = { key, agent: new HttpsAgent({ keepAlive: true, ...(ca ? { ca } : {}) }) };
  }
  return httpsAgent.agent;
}

/**
 * `fetch` for egress handlers: the same policy as the sandbox's own traffic
 * decides where it may connect (checked on the resolved address, which is
 * then used), Burrow's host alias reaches the host, and the upstream's
 * certificate is verified against the server's trust store (plus the
 * operator's extra CAs) under its real name. Bodies stream both ways.
 * Through the operator's upstream proxy when one is set (`onProxy` hears of
 * each use, for the audit), like the sandbox's own traffic.
 */
export function policyFetch(
  policy: Policy,
  trust: TrustSources,
  dialer: UpstreamDialer,
  onProxy?: (via: ProxyEndpoint) => void,
): (input: Request | string | URL, init?: RequestInit) => Promise<Response> {
  return async (input, init) => {
    const req = input instanceof Request && !init ? input : new Request(input as string, init);
    const url = new URL(req.url);
    const secure = url.protocol === "https:";
    if (!secure && url.protocol !== "http:") throw new UpstreamRefused(`only http and https can be fetched, not ${url.protocol}`);
    const port = Number(url.port || (secure ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const d = await decide(host, port, policy);
    if (!d.allowed) throw new UpstreamRefused(d.reason);
    const headers: Record<string, string> = {};
    req.headers.forEach((v, k) => {
      if (!HOP.has(k)) headers[k] = v;
    });
    headers.host = url.host;
    // A length with no body to send would leave the upstream waiting for bytes that never come.
    if (!req.body) delete headers["content-length"];
    const path = url.pathname + url.search;
    const via = dialer.proxyFor(secure ? "tunnel" : "http", host, d.address, port);
    if (via) onProxy?.(via);
    let options: import("node:http").RequestOptions;
    if (!via)
      options = {
        host: d.address, family: d.family, port, path,
        // Verify the certificate for the name asked for, not the address connected to.
        ...(secure && !isIP(host) ? { servername: host } : {}),
        agent: secure ? httpsAgentFor(trust) : httpAgent,
      };
    else if (!secure)
      // Absolute form naming the checked address; the Host header keeps the name.
      options = { host: via.host, port: via.port, path: `http://${authority(d.address, port)}${path}`, agent: httpAgent };
    else {
      // TLS inside the upstream proxy's CONNECT tunnel, verified as for a direct connection; not pooled.
      const { socket } = await dialer.open(host, d.address, d.family, port);
      const { ca } = trust.upstream();
      const tls = tlsConnect({ socket, host, ...(isIP(host) ? {} : { servername: host }), ...(ca ? { ca } : {}), ALPNProtocols: ["http/1.1"] });
      options = { createConnection: () => tls, path };
    }
    if (via?.authorization && !secure) headers["proxy-authorization"] = via.authorization;
    // A TLS socket made here already speaks TLS: plain http writes the request on it.
    const send = secure && !via ? httpsRequest : httpRequest;
    return new Promise<Response>((resolve, reject) => {
      const up = send(
        { ...options, method: req.method, headers, setHost: false },
        (res: IncomingMessage) => {
          const out = new Headers();
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            const k = res.rawHeaders[i]!.toLowerCase();
            if (!HOP.has(k) || k === "trailer") out.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
          }
          const status = res.statusCode ?? 502;
          const noBody = req.method === "HEAD" || status === 204 || status === 304 || status < 200;
          if (noBody) res.resume();
          resolve(new Response(noBody ? null : (Readable.toWeb(res) as unknown as ReadableStream), { status, statusText: res.statusMessage, headers: out }));
        },
      );
      up.on("error", reject);
      if (req.body) Readable.fromWeb(req.body as unknown as WebReadableStream).pipe(up);
      else up.end();
    });
  };
}
