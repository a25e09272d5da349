import type { Duplex } from "node:stream";
import { WebSocket, type RawData } from "ws";
import { BurrowError } from "../contract/index.js";

export type Sink = (data: RawData, isBinary: boolean) => void;

/**
 * Connect to a sandbox runtime's terminal socket. The runtime speaks first
 * (ready, then the replay), possibly in the same read as its handshake
 * answer, so ws emits those frames right after `open`, before any awaiting
 * code could listen: they are held from the first moment until `forward`
 * names where they go. A refusal carries the runtime's own error code.
 */
export function openTerminalUpstream(url: string): Promise<{ ws: WebSocket; forward: (sink: Sink) => void }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const held: [RawData, boolean][] = [];
    let sink: Sink | undefined;
    ws.on("message", (data, isBinary) => (sink ? sink(data, isBinary) : held.push([data, isBinary])));
    const forward = (s: Sink) => {
      sink = s;
      for (const [data, isBinary] of held.splice(0)) s(data, isBinary);
    };
    ws.once("open", () => resolve({ ws, forward }));
    ws.once("unexpected-response", (_req, res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d));
      res.on("end", () => {
        try {
          const body = JSON.parse(text);
          reject(new BurrowError(body.code ?? "INTERNAL", body.message ?? text));
        } catch {
          reject(new BurrowError("RUNTIME_UNAVAILABLE", `the sandbox's runtime refused the terminal (${res.statusCode})`));
        }
      });
    });
    ws.once("error", (err) => reject(new BurrowError("RUNTIME_UNAVAILABLE", `the sandbox's runtime did not answer (${err.message})`)));
  });
}

/** A close code a server may send on: codes that are reserved or only local (1005, 1006) become a normal close. */
export function relayableCloseCode(code?: number): number {
  return code && code >= 1000 && code < 5000 && code !== 1005 && code !== 1006 ? code : 1000;
}

/** Answer a WebSocket upgrade with a plain HTTP error whose JSON body is `body(e)`. */
export function refuseUpgrade(socket: Duplex, err: unknown, body: (e: BurrowError) => object = (e) => e.toJSON()): void {
  const e = err instanceof BurrowError ? err : new BurrowError("INTERNAL", (err as Error).message);
  const text = JSON.stringify(body(e));
  socket.end(`HTTP/1.1 ${e.status} ${e.code}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
}
