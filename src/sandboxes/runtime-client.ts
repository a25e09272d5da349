import { Agent, request, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import type { Socket } from "node:net";
import { pipeline } from "node:stream/promises";
import { BurrowError } from "../contract/index.js";

/**
 * HTTP over the sandbox's unix socket to its runtime, with kept-alive
 * connections so a command costs one request, not a connect.
 */
export class RuntimeClient {
  private readonly agent: Agent;
  /** Told when a connection to the socket fails (gone or refused): the supervisor decides whether to heal. */
  onUnreachable: ((err: NodeJS.ErrnoException) => void) | undefined;

  constructor(readonly socketPath: string) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 16 });
  }

  /** Send a request; the body is a JSON value, a stream, or nothing. An abort (the caller left) destroys the request, which the runtime sees as its caller leaving. */
  send(method: string, path: string, body?: unknown, headers: OutgoingHttpHeaders = {}, signal?: AbortSignal): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const isStream = body !== undefined && typeof (body as Readable).pipe === "function";
      const payload = body === undefined || isStream ? undefined : Buffer.from(JSON.stringify(body));
      const req = request(
        {
          socketPath: this.socketPath,
          agent: this.agent,
          method,
          path,
          signal,
          headers: {
            ...headers,
            ...(payload ? { "content-type": "application/json", "content-length": payload.length } : {}),
          },
        },
        resolve,
      );
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT" || err.code === "ECONNREFUSED") this.onUnreachable?.(err);
        reject(new BurrowError("RUNTIME_UNAVAILABLE", `the sandbox's runtime did not answer (${err.message}); retry, the sandbox will be restarted if needed`));
      });
      // pipeline, not pipe: a caller that goes away mid-upload must abort the runtime request too.
      if (isStream) pipeline(body as Readable, req).catch(() => req.destroy());
      else req.end(payload);
    });
  }

  /** Send and parse a JSON answer; an error answer is rethrown with its code. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    const text = await readAll(res);
    const value = text ? JSON.parse(text) : {};
    if ((res.statusCode ?? 500) >= 400) throw errorFrom(value);
    return value as T;
  }

  /**
   * A raw TCP stream to 127.0.0.1:port inside the sandbox, through the
   * runtime (HTTP CONNECT over the unix socket). Used by preview URLs.
   */
  tunnel(port: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, method: "CONNECT", path: `127.0.0.1:${port}`, agent: false });
      req.on("connect", (res, socket, head) => {
        if (res.statusCode !== 200) {
          socket.destroy();
          return reject(new BurrowError("UPSTREAM_UNAVAILABLE", `nothing is listening on port ${port} in the sandbox`, { port }));
        }
        if (head.length) socket.unshift(head);
        resolve(socket);
      });
      req.on("error", (err) => reject(new BurrowError("RUNTIME_UNAVAILABLE", `the sandbox's runtime did not answer (${err.message})`)));
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export async function readAll(res: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** A runtime's error answer (JSON `{code, message}`), read whole and rethrown with its code. */
export async function runtimeError(res: Readable & { statusCode?: number }): Promise<BurrowError> {
  const text = await readAll(res);
  try {
    return errorFrom(JSON.parse(text) as { code?: string; message?: string });
  } catch {
    return new BurrowError("INTERNAL", `the runtime answered ${res.statusCode}${text ? `: ${text.slice(0, 200)}` : ""}`);
  }
}

export function errorFrom(value: { code?: string; message?: string; [k: string]: unknown }): BurrowError {
  const { code, message, ...details } = value;
  return new BurrowError((code ?? "INTERNAL") as never, message ?? "runtime error", details);
}
