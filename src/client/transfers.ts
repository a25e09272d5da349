import type { ArchiveWritten } from "../contract/index.js";
import type { Transport } from "./transport.js";
import type { ReadFileResult } from "./types.js";

const enc = encodeURIComponent;

/**
 * A stream's bytes in one array, gathered chunk by chunk as they come:
 * Response.arrayBuffer() is several times slower on large bodies.
 */
export async function collectBytes(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of stream as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
  return chunks.length === 1 ? chunks[0]! : new Uint8Array(Buffer.concat(chunks));
}

/** Bytes in and out of one sandbox: files, and directories as tar archives. Sandbox's file methods call these. */
export class Transfers {
  constructor(
    private readonly t: Transport,
    /** `/v1/sandboxes/<id>` */
    private readonly base: string,
  ) {}

  async writeFile(path: string, content: string | Uint8Array | ReadableStream<Uint8Array>, opts: { mode?: string | number; encoding?: "utf-8" | "base64" }): Promise<{ path: string; size: number }> {
    const body = typeof content === "string" && opts.encoding === "base64" ? Buffer.from(content, "base64") : content;
    const mode = opts.mode === undefined ? undefined : typeof opts.mode === "number" ? opts.mode.toString(8) : opts.mode;
    const q = `path=${enc(path)}${mode ? `&mode=${mode}` : ""}`;
    const res = await this.t.request("PUT", `${this.base}/files?${q}`, { body: body as BodyInit, headers: { "content-type": "application/octet-stream" } });
    return res.json() as Promise<{ path: string; size: number }>;
  }

  async readFile(path: string, opts: { encoding?: "utf-8" | "base64" }): Promise<ReadFileResult> {
    const res = await this.t.request("GET", `${this.base}/files?path=${enc(path)}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    const encoding = opts.encoding ?? "utf-8";
    return {
      path,
      content: encoding === "base64" ? bytes.toString("base64") : bytes.toString("utf8"),
      encoding,
      mimeType: res.headers.get("content-type") ?? "application/octet-stream",
      size: bytes.length,
    };
  }

  async readFileStream(path: string): Promise<ReadableStream<Uint8Array>> {
    return (await this.t.request("GET", `${this.base}/files?path=${enc(path)}`)).body!;
  }

  async readArchiveStream(path: string, opts: { exclude?: string[] }): Promise<ReadableStream<Uint8Array>> {
    const ex = (opts.exclude ?? []).map((e) => `&exclude=${enc(e)}`).join("");
    return (await this.t.request("GET", `${this.base}/archive?path=${enc(path)}${ex}`)).body!;
  }

  async writeArchive(path: string, archive: Uint8Array | ReadableStream<Uint8Array>, opts: { maxMembers?: number; maxExtractedBytes?: number }): Promise<ArchiveWritten> {
    const lim = [opts.maxMembers === undefined ? "" : `&maxMembers=${opts.maxMembers}`, opts.maxExtractedBytes === undefined ? "" : `&maxExtractedBytes=${opts.maxExtractedBytes}`].join("");
    const res = await this.t.request("PUT", `${this.base}/archive?path=${enc(path)}${lim}`, { body: archive as BodyInit, headers: { "content-type": "application/x-tar" } });
    return res.json() as Promise<ArchiveWritten>;
  }
}
