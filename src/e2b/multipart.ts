import { PassThrough, type Readable } from "node:stream";
import { BurrowError } from "../contract/index.js";

/** One file part of a multipart/form-data body, its bytes streamed as they arrive. */
export interface FilePart {
  field: string;
  filename: string | undefined;
  body: Readable;
}

const MAX_HEADERS = 16 * 1024;
const MAX_PARTS = 10_000;
const CRLF = Buffer.from("\r\n");
const HEADERS_END = Buffer.from("\r\n\r\n");

/** The boundary of a multipart/form-data Content-Type, or a 400 that says what is wrong. */
export function boundaryOf(contentType: string): string {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  const b = m?.[1] ?? m?.[2];
  if (!b) throw new BurrowError("BAD_REQUEST", "the multipart/form-data Content-Type has no boundary; send the one the body uses");
  return b;
}

/** A header parameter (`name="file"`), with the %22 / %0D / %0A escapes of the form-data encoding undone. */
function param(disposition: string, key: string): string | undefined {
  const m = new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"`, "i").exec(disposition) ?? new RegExp(`;\\s*${key}=([^;\\s]+)`, "i").exec(disposition);
  return m?.[1]?.replace(/%22/g, '"').replace(/%0D/gi, "\r").replace(/%0A/gi, "\n");
}

/**
 * Read a multipart/form-data body as a stream: each file part is handed to
 * `onFile` as soon as its headers are in, with its bytes as a stream that
 * fills as the request arrives (at the pace `onFile` reads it), and the next
 * part waits until `onFile` is done with this one. Parts without a filename
 * (plain fields) are skipped. Nothing is held but a delimiter's length of
 * bytes, so a part of any size passes through. Rejects with a 400 on a body
 * that is not multipart as its boundary says, and with what `onFile` threw.
 */
export async function readFileParts(body: AsyncIterable<Buffer>, boundary: string, onFile: (part: FilePart) => Promise<void>): Promise<number> {
  // Every delimiter but the first follows a CRLF; a CRLF put before the body makes the first one alike.
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  let buf: Buffer = CRLF;
  let state: "preamble" | "after-delimiter" | "headers" | "body" | "done" = "preamble";
  let part: { stream: PassThrough; done: Promise<void>; settled: boolean } | undefined;
  let files = 0;
  let parts = 0;

  const bad = (why: string) => new BurrowError("BAD_REQUEST", `the multipart body ${why}; send multipart/form-data with one or more \`file\` fields`);

  // Bytes into the current file part; waits while its reader is behind, and stops if the reader gave up.
  const emit = async (bytes: Buffer) => {
    if (!part || !bytes.length) return;
    if (part.settled) throw bad("has more bytes in a part than its reader took");
    if (!part.stream.write(bytes)) await Promise.race([new Promise((r) => part!.stream.once("drain", r)), part.done]);
  };
  const endPart = async () => {
    if (!part) return;
    const p = part;
    part = undefined;
    p.stream.end();
    await p.done;
  };

  try {
    for await (const chunk of body) {
      // The epilogue after the closing boundary is read and dropped: leaving the loop would destroy the request.
      if (state === "done") continue;
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        if (state === "preamble" || state === "body") {
          const at = buf.indexOf(delimiter);
          if (at < 0) {
            // Keep what could be the start of a delimiter; the rest is the part's (or the preamble's, dropped).
            const keep = Math.min(buf.length, delimiter.length - 1);
            if (state === "body") await emit(buf.subarray(0, buf.length - keep));
            buf = buf.subarray(buf.length - keep);
            break;
          }
          if (state === "body") {
            await emit(buf.subarray(0, at));
            await endPart();
          }
          buf = buf.subarray(at + delimiter.length);
          state = "after-delimiter";
        }
        if (state === "after-delimiter") {
          if (buf.length < 2) break;
          if (buf[0] === 0x2d && buf[1] === 0x2d) {
            state = "done";
            break;
          }
          // Transport padding (spaces, tabs) may follow a delimiter before its CRLF.
          const eol = buf.indexOf(CRLF);
          if (eol < 0) {
            if (buf.length > 256) throw bad("has a boundary line that does not end");
            break;
          }
          if (!/^[ \t]*$/.test(buf.subarray(0, eol).toString("latin1"))) throw bad("has a boundary line with more after it");
          buf = buf.subarray(eol + 2);
          state = "headers";
        }
        if (state === "headers") {
          // A part with no headers at all starts right away with its blank line.
          const end = buf.subarray(0, 2).equals(CRLF) ? -2 : buf.indexOf(HEADERS_END);
          if (end === -1) {
            if (buf.length > MAX_HEADERS) throw bad(`has a part whose headers run past ${MAX_HEADERS} bytes`);
            break;
          }
          const lines = end === -2 ? [] : buf.subarray(0, end).toString("utf8").split("\r\n");
          buf = buf.subarray(end === -2 ? 2 : end + 4);
          if (++parts > MAX_PARTS) throw bad(`has more than ${MAX_PARTS} parts`);
          const disposition = lines.find((l) => /^content-disposition\s*:/i.test(l))?.replace(/^[^:]*:/, "") ?? "";
          const field = param(disposition, "name");
          const filename = param(disposition, "filename");
          if (field !== undefined && filename !== undefined) {
            files++;
            const stream = new PassThrough({ highWaterMark: 1024 * 1024 });
            const current = { stream, settled: false, done: Promise.resolve() };
            current.done = onFile({ field, filename: filename || undefined, body: stream }).finally(() => (current.settled = true));
            current.done.catch(() => stream.destroy());
            part = current;
          }
          state = "body";
          continue;
        }
        break;
      }
    }
    if (state !== "done") throw bad("ends before its closing boundary");
    return files;
  } catch (err) {
    if (part) {
      part.stream.destroy(err instanceof Error ? err : new Error(String(err)));
      await part.done.catch(() => {});
    }
    throw err;
  }
}
