import { BlockList, connect, isIP, type Socket } from "node:net";
import { HOST_ALIAS } from "./policy.js";

/** An HTTP proxy that the egress proxy dials the internet through (`--upstream-proxy`, or HTTPS_PROXY/HTTP_PROXY). */
export interface ProxyEndpoint {
  host: string;
  port: number;
  /** `Basic ...` from the URL's userinfo: sent as Proxy-Authorization, never logged. */
  authorization?: string;
  /** The URL without its credentials: what the audit and the log show. */
  display: string;
}

/** Which proxy each kind of connection goes through, and what never does. */
export interface UpstreamProxyConfig {
  /** For CONNECT tunnels (TLS and anything else a sandbox tunnels) and handlers' HTTPS fetches. */
  tunnel?: ProxyEndpoint;
  /** For plain HTTP, sent in absolute form. */
  http?: ProxyEndpoint;
  /** NO_PROXY entries: names (and their subdomains), `.domain`, `*.domain`, `host:port`, IPs, CIDRs, or `*`. */
  noProxy: string[];
}

/** Parse a proxy URL (`http://[user:password@]host[:port]`); a clear sentence naming `where` when it is not one. */
export function parseProxyUrl(spec: string, where: string): ProxyEndpoint {
  const text = spec.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`${where} ${JSON.stringify(spec)} is not a URL; give http://[user:password@]host:port`);
  }
  if (url.protocol !== "http:")
    throw new Error(`${where} ${JSON.stringify(redact(spec))} uses ${url.protocol.slice(0, -1)}; only http:// proxies are supported (CONNECT carries TLS end to end)`);
  if (!url.hostname) throw new Error(`${where} ${JSON.stringify(redact(spec))} names no host; give http://[user:password@]host:port`);
  if ((url.pathname && url.pathname !== "/") || url.search || url.hash)
    throw new Error(`${where} ${JSON.stringify(redact(spec))} has a path or query; give only http://[user:password@]host:port`);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || 80);
  let authorization: string | undefined;
  if (url.username || url.password) {
    const decode = (s: string) => {
      try {
        return decodeURIComponent(s);
      } catch {
        throw new Error(`${where}: the user name or password is not valid percent-encoding`);
      }
    };
    authorization = `Basic ${Buffer.from(`${decode(url.username)}:${decode(url.password)}`).toString("base64")}`;
  }
  return { host, port, authorization, display: `http://${url.host}` };
}

/** A URL with its password replaced, for messages. */
function redact(spec: string): string {
  return spec.replace(/\/\/([^/@:]*):[^/@]*@/, "//$1:***@");
}

/**
 * The settings in force: `--upstream-proxy URL` for everything (`none` for
 * direct even when the environment names a proxy), else the server's own
 * HTTPS_PROXY (tunnels) and HTTP_PROXY (plain HTTP), lower case first as curl
 * reads them. NO_PROXY applies either way.
 */
export function upstreamProxyConfig(flag: string | undefined, env: NodeJS.ProcessEnv): UpstreamProxyConfig {
  const noProxy = (env.no_proxy ?? env.NO_PROXY ?? "").split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (flag !== undefined) {
    if (flag.trim() === "" || flag.trim().toLowerCase() === "none") return { noProxy };
    const p = parseProxyUrl(flag, "--upstream-proxy");
    return { tunnel: p, http: p, noProxy };
  }
  const https = env.https_proxy || env.HTTPS_PROXY;
  const http = env.http_proxy || env.HTTP_PROXY;
  return {
    tunnel: https ? parseProxyUrl(https, env.https_proxy ? "https_proxy" : "HTTPS_PROXY") : undefined,
    http: http ? parseProxyUrl(http, env.http_proxy ? "http_proxy" : "HTTP_PROXY") : undefined,
    noProxy,
  };
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

function isLoopback(address: string): boolean {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (v4) return LOOPBACK.check(v4, "ipv4");
  return isIP(address) ? LOOPBACK.check(address, isIP(address) === 6 ? "ipv6" : "ipv4") : false;
}

/** Whether a NO_PROXY list names host (as asked) or the address it was resolved to. */
export function noProxyMatches(entries: string[], host: string, address: string, port: number): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  for (const raw of entries) {
    if (raw === "*") return true;
    const cidr = /^([0-9a-f.:]+)\/(\d{1,3})$/i.exec(raw);
    if (cidr && isIP(cidr[1]!)) {
      const family = isIP(cidr[1]!) === 6 ? "ipv6" : "ipv4";
      const bits = Number(cidr[2]);
      if (bits > (family === "ipv6" ? 128 : 32)) continue; // not a network: it names nothing
      const net = new BlockList();
      net.addSubnet(cidr[1]!, bits, family);
      if (isIP(address) && net.check(address, isIP(address) === 6 ? "ipv6" : "ipv4")) return true;
      continue;
    }
    const bare = raw.replace(/^\[|\]$/g, "");
    if (isIP(bare)) {
      if (bare === address || bare === h) return true;
      continue;
    }
    const hp = /^(.+?)(?::(\d+))?$/.exec(raw)!;
    if (hp[2] && Number(hp[2]) !== port) continue;
    const name = hp[1]!.replace(/^\*?\./, "");
    if (h === name || h.endsWith(`.${name}`)) return true;
  }
  return false;
}

/**
 * How the egress proxy reaches a destination it has already allowed. The
 * upstream proxy is always asked for the *address* the policy checked, never
 * the name: a proxy that resolves names on its own (split-horizon DNS, a
 * rebinding answer) could otherwise take a sandbox somewhere Burrow never
 * checked. The name still travels in the TLS SNI and the Host header.
 */
export class UpstreamDialer {
  constructor(private readonly config: UpstreamProxyConfig = { noProxy: [] }) {}

  /**
   * The proxy for a connection to host (as the sandbox named it) at address,
   * or undefined to dial directly: loopback, the host alias and NO_PROXY
   * matches never leave through a proxy.
   */
  proxyFor(kind: "tunnel" | "http", host: string, address: string, port: number): ProxyEndpoint | undefined {
    const p = this.config[kind];
    if (!p) return undefined;
    if (host.toLowerCase() === HOST_ALIAS || isLoopback(address)) return undefined;
    if (noProxyMatches(this.config.noProxy, host, address, port)) return undefined;
    return p;
  }

  /** A byte stream to address:port, direct or through the upstream proxy's CONNECT; `via` says which. */
  async open(host: string, address: string, family: number, port: number): Promise<{ socket: Socket; via: ProxyEndpoint | undefined }> {
    const via = this.proxyFor("tunnel", host, address, port);
    if (!via) return { socket: await dial({ host: address, port, family }), via };
    return { socket: await connectThrough(via, authority(address, port)), via };
  }
}

/** `address:port`, bracketed for IPv6, as CONNECT and absolute-form URLs write it. */
export function authority(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

const CONNECT_TIMEOUT_MS = 30_000;
const MAX_PROXY_HEADER = 16 * 1024;

function dial(to: { host: string; port: number; family?: number }): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(to);
    s.setTimeout(CONNECT_TIMEOUT_MS, () => s.destroy(new Error(`no answer from ${to.host}:${to.port} within ${CONNECT_TIMEOUT_MS / 1000} s`)));
    s.once("connect", () => {
      s.setTimeout(0);
      s.removeAllListeners("error");
      resolve(s);
    });
    s.once("error", reject);
  });
}

/** Ask the upstream proxy for a tunnel to target (`address:port`); the socket comes back past its 2xx answer. */
async function connectThrough(p: ProxyEndpoint, target: string): Promise<Socket> {
  let s: Socket;
  try {
    s = await dial({ host: p.host, port: p.port });
  } catch (err) {
    throw new Error(`the upstream proxy ${p.display} cannot be reached (${(err as Error).message})`);
  }
  return new Promise<Socket>((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const fail = (why: string) => {
      s.destroy();
      reject(new Error(why));
    };
    s.setTimeout(CONNECT_TIMEOUT_MS, () => fail(`the upstream proxy ${p.display} did not answer CONNECT ${target} within ${CONNECT_TIMEOUT_MS / 1000} s`));
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) {
        if (buf.length > MAX_PROXY_HEADER) fail(`the upstream proxy ${p.display} sent an oversized answer to CONNECT`);
        return;
      }
      s.off("data", onData);
      s.off("error", onError);
      s.off("close", onClose);
      s.setTimeout(0);
      const statusLine = buf.subarray(0, buf.indexOf("\r\n")).toString("latin1");
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
      if (!status || !status.startsWith("2")) return fail(`the upstream proxy ${p.display} refused CONNECT ${target}: ${statusLine.slice(0, 200) || "no status line"}`);
      s.pause();
      const rest = buf.subarray(end + 4);
      if (rest.length) s.unshift(rest);
      resolve(s);
    };
    const onError = (err: Error) => fail(`the upstream proxy ${p.display} failed during CONNECT ${target} (${err.message})`);
    const onClose = () => fail(`the upstream proxy ${p.display} closed the connection during CONNECT ${target}`);
    s.on("data", onData);
    s.once("error", onError);
    s.once("close", onClose);
    s.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${p.authorization ? `Proxy-Authorization: ${p.authorization}\r\n` : ""}\r\n`);
  });
}
