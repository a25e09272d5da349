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

const env = (k: string): string | undefined => (typeof process !== "undefined" ? process.env?.[k] : undefined);

/** HTTP to the Burrow API: auth, JSON, errors, raw bodies and SSE. */
export class Transport {
  readonly url: string;
  readonly token: string;
  private readonly fetchImpl: typeof fetch;

  constructor(config: ConnectionConfig = {}) {
    this.url = (config.url ?? env("BURROW_URL") ?? "http://127.0.0.1:7070").replace(/\/$/, "");
    this.token = config.token ?? env("BURROW_TOKEN") ?? "";
    this.fetchImpl = config.fetch ?? fetch;
  }

  async request(method: string, path: string, init: { json?: unknown; body?: BodyInit | null; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, ...(init.headers ?? {}) };
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
