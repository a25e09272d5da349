import type { Duplex } from "node:stream";
import { BurrowError } from "../contract/index.js";

/** Node's parser error codes that are the caller's fault, and what to tell them. */
function errorFor(code: string | undefined): BurrowError {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return new BurrowError("HEADERS_TOO_LARGE", "the request line and headers are larger than the server accepts (16 KiB): shorten the URL or headers, and send data in the body");
    case "HPE_INVALID_METHOD":
      return new BurrowError("METHOD_NOT_ALLOWED", "the HTTP method is not one this server knows; see docs/openapi.yaml");
    default:
      return new BurrowError("BAD_REQUEST", `the request is not valid HTTP/1.1 (${code ?? "parse error"}); check the request line, headers and body framing`);
  }
}

/**
 * Answer a request Node's HTTP parser refused (the 'clientError' event) with
 * the same JSON error body as every other refusal, instead of Node's bare
 * "400 Bad Request". Sockets that are gone or already answering are just
 * closed.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === "ECONNRESET" || !socket.writable || (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
    socket.destroy();
    return;
  }
  const e = errorFor(err.code);
  const body = JSON.stringify(e.toJSON());
  socket.end(`HTTP/1.1 ${e.status} ${e.code}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
