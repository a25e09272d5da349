import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import { asBurrowError, CONNECT_STATUS, ConnectError, connectCode, type ConnectCode } from "./errors.js";

/*
 * A small codec for the Connect protocol with JSON messages, which is all the
 * E2B SDK speaks to envd: unary calls are a JSON body both ways; server
 * streams are a request of one envelope and an answer of envelopes (1 flag
 * byte, 4-byte big-endian length, JSON), closed by an end-of-stream envelope.
 */

const MAX_REQUEST = 16 * 1024 * 1024;
const END_STREAM = 0x02;

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_REQUEST) throw new ConnectError("resource_exhausted", `the request is over ${MAX_REQUEST} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function validate<S extends z.ZodType>(value: unknown, schema: S): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ConnectError("invalid_argument", `${issue.path.join(".") || "message"}: ${issue.message}`);
  }
  return r.data;
}

function parseJson(buf: Buffer): unknown {
  if (buf.length === 0) return {};
  try {
    return JSON.parse(buf.toString("utf8"));
  } catch {
    throw new ConnectError("invalid_argument", "the message is not valid JSON");
  }
}

const contentType = (req: IncomingMessage) => (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();

/** The message of a unary call (`application/json`). */
export async function readUnary<S extends z.ZodType>(req: IncomingMessage, schema: S): Promise<z.infer<S>> {
  const type = contentType(req);
  if (type !== "application/json") throw new ConnectError("invalid_argument", `a unary call is sent as application/json (got ${type || "no content type"}); binary protobuf is not served`);
  return validate(parseJson(await readAll(req)), schema);
}

/** The one request message of a server-streaming call (`application/connect+json`, enveloped). */
export async function readStreamRequest<S extends z.ZodType>(req: IncomingMessage, schema: S): Promise<z.infer<S>> {
  const type = contentType(req);
  if (type !== "application/connect+json") throw new ConnectError("invalid_argument", `a streaming call is sent as application/connect+json (got ${type || "no content type"})`);
  const buf = await readAll(req);
  if (buf.length < 5) throw new ConnectError("invalid_argument", "the request holds no envelope (1 flag byte, 4 length bytes, then the message)");
  const flags = buf[0]!;
  const length = buf.readUInt32BE(1);
  if (flags & 0x01) throw new ConnectError("invalid_argument", "compressed envelopes are not supported; send them uncompressed");
  if (length !== buf.length - 5) throw new ConnectError("invalid_argument", `the envelope says ${length} bytes but ${buf.length - 5} follow`);
  return validate(parseJson(buf.subarray(5)), schema);
}

/** The deadline a caller set with Connect-Timeout-Ms, if any. */
export function deadlineOf(req: IncomingMessage): number | undefined {
  const h = req.headers["connect-timeout-ms"];
  if (typeof h !== "string" || !/^\d{1,10}$/.test(h)) return undefined;
  const ms = Number(h);
  return ms > 0 ? ms : undefined;
}

function errorBody(err: unknown): { code: ConnectCode; message: string } {
  if (err instanceof ConnectError) return { code: err.code, message: err.message };
  const b = asBurrowError(err);
  return { code: connectCode(b), message: b.message };
}

export function sendUnary(res: ServerResponse, message: object): void {
  const data = JSON.stringify(message);
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(data) });
  res.end(data);
}

export function sendUnaryError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) return void res.destroy();
  const body = errorBody(err);
  const data = JSON.stringify(body);
  res.writeHead(CONNECT_STATUS[body.code], { "content-type": "application/json", "content-length": Buffer.byteLength(data) });
  res.end(data);
}

function envelope(flags: number, message: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(json.length, 1);
  return Buffer.concat([head, json]);
}

/**
 * The answer of a server-streaming call. Errors travel in the end-of-stream
 * envelope with HTTP 200, as the protocol says. A keepalive message is sent
 * every `keepaliveMs` so idle streams survive proxies (the SDK asks for one
 * with Keepalive-Ping-Interval).
 */
export class ConnectStream {
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly res: ServerResponse,
    keepalive?: { ms: number; message: object },
  ) {
    res.writeHead(200, { "content-type": "application/connect+json", "cache-control": "no-store" });
    res.flushHeaders();
    if (keepalive) {
      this.timer = setInterval(() => this.send(keepalive.message), keepalive.ms);
      this.timer.unref();
    }
    res.on("close", () => clearInterval(this.timer));
  }

  get closed(): boolean {
    return this.ended || this.res.destroyed || this.res.writableEnded;
  }

  send(message: object): void {
    if (!this.closed) this.res.write(envelope(0, message));
  }

  end(err?: unknown): void {
    if (this.closed) return;
    this.ended = true;
    clearInterval(this.timer);
    this.res.end(envelope(END_STREAM, err === undefined ? {} : { error: errorBody(err) }));
  }
}

/** Keepalive-Ping-Interval (seconds) as ms, bounded to something sane. */
export function keepaliveMs(req: IncomingMessage): number {
  const s = Number(req.headers["keepalive-ping-interval"]);
  return Number.isFinite(s) && s >= 1 && s <= 3600 ? s * 1000 : 50_000;
}

