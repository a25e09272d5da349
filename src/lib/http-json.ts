import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import { BurrowError } from "../contract/errors.js";

const MAX_JSON = 80 * 1024 * 1024;

/** Validate a JSON body against its zod schema; the first problem becomes the message. */
export async function readJson<S extends z.ZodType>(req: IncomingMessage, schema: S): Promise<z.infer<S>> {
  const value = await readBody(req);
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new BurrowError("VALIDATION_FAILED", `${issue.path.join(".") || "body"}: ${issue.message}`);
  }
  return r.data;
}

/** Validate a URL's query (as an object of strings) against its zod schema; the first problem becomes the message. */
export function readQuery<S extends z.ZodType>(query: Record<string, string>, schema: S): z.infer<S> {
  const r = schema.safeParse(query);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new BurrowError("VALIDATION_FAILED", `query ${issue.path.join(".")}: ${issue.message}`);
  }
  return r.data;
}

/** Parse a JSON body (empty means `{}`), refusing bodies over the size cap. */
export async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_JSON) throw new BurrowError("PAYLOAD_TOO_LARGE", "request body is too large");
    chunks.push(c as Buffer);
  }
  try {
    return size ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : {};
  } catch {
    throw new BurrowError("INVALID_JSON", "request body is not valid JSON");
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(data) });
  res.end(data);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const e = toBurrowError(err);
  if (res.headersSent) {
    res.destroy(e);
    return;
  }
  // The request id (set by the server for each call) names this answer in the server's log.
  const requestId = res.getHeader("x-request-id");
  // An answer that says when to come back (a crashing sandbox backing off) says it in HTTP's own way too.
  if (typeof e.details.retryAfter === "number") res.setHeader("retry-after", String(e.details.retryAfter));
  sendJson(res, e.status, typeof requestId === "string" ? { ...e.toJSON(), requestId } : e.toJSON());
}

/** Map Node's fs errors to stable codes; anything else is INTERNAL. */
export function toBurrowError(err: unknown, path?: string): BurrowError {
  if (err instanceof BurrowError) return err;
  const e = err as NodeJS.ErrnoException;
  const p = path ?? e.path ?? "";
  // libuv has no name for EDQUOT (122 on Linux): Node reports it as "Unknown system error -122".
  switch (e?.errno === -122 ? "EDQUOT" : e?.code) {
    case "ENOENT": return new BurrowError("FILE_NOT_FOUND", `no such file or directory: ${p}`, { path: p });
    case "EISDIR": return new BurrowError("IS_A_DIRECTORY", `${p} is a directory`, { path: p });
    case "ENOTDIR": return new BurrowError("NOT_A_DIRECTORY", `a parent of ${p} is not a directory`, { path: p });
    case "EEXIST": return new BurrowError("FILE_EXISTS", `${p} already exists`, { path: p });
    case "ENOTEMPTY": return new BurrowError("DIRECTORY_NOT_EMPTY", `${p} is not empty`, { path: p });
    case "EACCES":
    case "EPERM":
    case "EROFS": return new BurrowError("PERMISSION_DENIED", `permission denied: ${p}`, { path: p });
    // The caller's path or target, not Burrow, is at fault for these: 4xx with a sentence to act on.
    case "ENAMETOOLONG": return new BurrowError("INVALID_PATH", `${p.slice(0, 200)}: the path or one of its names is too long (names up to 255 bytes, paths up to 4096)`, { path: p });
    case "ELOOP": return new BurrowError("INVALID_PATH", `${p}: too many levels of symbolic links (a link loop?)`, { path: p });
    case "ENXIO":
    case "ENODEV": return new BurrowError("NOT_A_FILE", `${p} is a device, socket or FIFO with nothing behind it; only regular files can be read or written`, { path: p });
    // A write past the sandbox's disk limit (EDQUOT), or a data volume that is full (ENOSPC).
    case "EDQUOT":
    case "ENOSPC": return new BurrowError("DISK_FULL", `no space left for ${p}: the sandbox's disk limit (limits.diskMB) is reached; delete files or raise limits.diskMB (it applies from the next start)`, { path: p });
    case "EBUSY":
    case "ETXTBSY": return new BurrowError("FILE_BUSY", `${p} is busy (a mount point, or a file in use); try another path or later`, { path: p });
    default: return new BurrowError("INTERNAL", e?.message ?? String(err));
  }
}

/** Newline-delimited JSON events, for streams from runtime to server. */
export function startNdjson(res: ServerResponse): (event: object) => void {
  res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
  res.flushHeaders();
  return (event) => {
    if (!res.writableEnded) res.write(JSON.stringify(event) + "\n");
  };
}
