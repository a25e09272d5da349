import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { Readable } from "node:stream";

/**
 * A `fetch` made with node:http(s) and kept-alive sockets: about a
 * millisecond less per request than Node's global fetch (undici) on this
 * kind of machine, which counts when a call is a few milliseconds in all.
 * It does what Burrow's client asks of fetch: a method, headers, a body
 * (text, bytes or a stream), an abort signal; the answer's status, headers,
 * text, JSON, bytes, and its body as a stream. It follows no redirects
 * (Burrow's API answers none) and reads no proxy settings.
 */
export function nodeFetch(agents: { http?: HttpAgent; https?: HttpsAgent } = {}): typeof fetch {
  const http = agents.http ?? new HttpAgent({ keepAlive: true, maxFreeSockets: 16 });
  let https = agents.https;
  return ((input: string | URL, init: RequestInit = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(String(input));
      const secure = url.protocol === "https:";
      if (!secure && url.protocol !== "http:") return reject(new TypeError(`fetch: ${url.protocol} URLs are not supported (http: and https: are)`));
      const headers = new Headers(init.headers);
      const body = init.body;
      const bytes = typeof body === "string" ? Buffer.from(body) : body instanceof Uint8Array ? body : body instanceof ArrayBuffer ? new Uint8Array(body) : undefined;
      if (bytes) headers.set("content-length", String(bytes.length));
      const outgoing: Record<string, string> = {};
      headers.forEach((v, k) => (outgoing[k] = v));
      const options = {
        host: url.hostname.replace(/^\[|\]$/g, ""),
        port: url.port || (secure ? 443 : 80),
        path: url.pathname + url.search,
        method: init.method ?? "GET",
        headers: outgoing,
        signal: init.signal ?? undefined,
      };
      const req = secure
        ? httpsRequest({ ...options, agent: (https ??= new HttpsAgent({ keepAlive: true, maxFreeSockets: 16 })) }, (msg) => resolve(answer(msg, init.signal)))
        : httpRequest({ ...options, agent: http }, (msg) => resolve(answer(msg, init.signal)));
      req.on("error", reject);
      if (body && !bytes) {
        const stream = typeof (body as ReadableStream).getReader === "function" ? Readable.fromWeb(body as import("node:stream/web").ReadableStream) : Readable.from([body as unknown as Buffer]);
        stream.on("error", (err) => req.destroy(err));
        stream.pipe(req);
      } else req.end(bytes);
    })) as typeof fetch;
}

/** The parts of a Response the client reads, over the IncomingMessage. */
function answer(msg: IncomingMessage, signal: AbortSignal | null | undefined): Response {
  // An abort after the answer began fails its reads with the signal's reason (an AbortError), as fetch does.
  if (signal) {
    const onAbort = () => msg.destroy(signal.reason instanceof Error ? signal.reason : new DOMException("This operation was aborted", "AbortError"));
    signal.addEventListener("abort", onAbort, { once: true });
    msg.once("close", () => signal.removeEventListener("abort", onAbort));
  }
  const headers = new Headers();
  for (const [k, v] of Object.entries(msg.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
  const status = msg.statusCode ?? 502;
  const buffer = async () => {
    const chunks: Buffer[] = [];
    for await (const c of msg) chunks.push(c as Buffer);
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  };
  let web: ReadableStream<Uint8Array> | undefined;
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText: msg.statusMessage ?? "",
    headers,
    url: "",
    redirected: false,
    get body() {
      return (web ??= Readable.toWeb(msg) as ReadableStream<Uint8Array>);
    },
    get bodyUsed() {
      return msg.readableEnded || web !== undefined;
    },
    text: async () => (await buffer()).toString("utf8"),
    json: async () => JSON.parse((await buffer()).toString("utf8")),
    arrayBuffer: async () => {
      const b = await buffer();
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    },
    bytes: async () => new Uint8Array(await buffer()),
  } as unknown as Response;
}
