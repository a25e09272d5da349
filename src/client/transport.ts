import { BurrowApiError } from "./errors.js";

/** Connection settings, in one place. */
export interface ConnectionConfig {
  /** Server URL; default `BURROW_URL` or http://127.0.0.1:7070. */
  url?: string;
  /** Bearer token; default `BURROW_TOKEN`. */
  token?: string;
  fetch?: typeof fetch;
}

export interface SseEvent {
  event: string;
  data: unknown;
}

/** The fetch a Transport uses when given none: the global one, or what the entry point chose (`./node.ts`). */
let defaultFetch: typeof fetch | undefined;
export function useDefaultFetch(f: typeof fetch): void {
  defaultFetch = f;
}

const env = (k: string): string | undefined => (typeof process !== "undefined" ? process.env?.[k] : undefined);

/** HTTP to the Burrow API: auth, JSON, errors, raw bodies and SSE. */
export class Transport {
  readonly url: string;
  // A private field: handles hold a Transport, and logging one (JSON.stringify, console.log) must not print the credential.
  readonly #token: string;
  private readonly fetchImpl: typeof fetch;

  constructor(config: ConnectionConfig = {}) {
    this.url = (config.url ?? env("BURROW_URL") ?? "http://127.0.0.1:7070").replace(/\/$/, "");
    this.#token = config.token ?? env("BURROW_TOKEN") ?? "";
    this.fetchImpl = config.fetch ?? defaultFetch ?? fetch;
  }

  /** The bearer token, for the few callers that must send it themselves (the terminal's WebSocket). */
  get token(): string {
    return this.#token;
  }

  toJSON(): { url: string } {
    return { url: this.url };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `Transport { url: ${JSON.stringify(this.url)} }`;
  }

  async request(method: string, path: string, init: { json?: unknown; body?: BodyInit | null; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
    // fetch resolves "." and ".." segments (also %2e): `/v1/sandboxes/./files` would reach another route, so such paths are never sent.
    if (path.split("?")[0]!.split("/").some((seg) => /^(\.|%2e){1,2}$/i.test(seg)))
      throw new BurrowApiError(400, { code: "BAD_REQUEST", message: `the path ${path} has a "." or ".." segment, which fetch would resolve to another route; ids and names are never "." or ".."` });
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}`, ...(init.headers ?? {}) };
    let body = init.body;
    if (init.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(init.json);
    }
    const res = await this.fetchImpl(this.url + path, {
      method,
      headers,
      body,
      signal: init.signal,
      ...(body && typeof (body as ReadableStream).getReader === "function" ? { duplex: "half" } : {}),
    } as RequestInit);
    if (!res.ok) throw await toError(res);
    return res;
  }

  async json<T>(method: string, path: string, json?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await this.request(method, path, { json, signal });
    return (await res.json()) as T;
  }

  /** Parse a text/event-stream answer into events. */
  async *sse(method: string, path: string, json?: unknown, signal?: AbortSignal): AsyncGenerator<SseEvent> {
    const res = await this.request(method, path, { json, signal, headers: { accept: "text/event-stream" } });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i: number;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
          }
          if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
        }
      }
    } finally {
      reader.cancel().catch(() => {});
    }
  }
}

async function toError(res: Response): Promise<BurrowApiError> {
  const text = await res.text();
  try {
    return new BurrowApiError(res.status, JSON.parse(text));
  } catch {
    return new BurrowApiError(res.status, { code: "HTTP_" + res.status, message: text || res.statusText });
  }
}
