import type WebSocketType from "ws";
import { BurrowApiError } from "./errors.js";

export interface TerminalOptions {
  cols?: number;
  rows?: number;
  /** Reconnect to this terminal (its recent output is replayed), or name a new one. */
  terminalId?: string;
  /** Start in this session's directory with its variables. */
  sessionId?: string;
}

/**
 * A live terminal in a sandbox: bytes in, bytes out, resize, exit. Several
 * connections may view one terminal; closing one leaves the shell running.
 */
export class TerminalConnection {
  /** Resolves once the terminal is attached, with its id and size. */
  readonly ready: Promise<{ id: string; cols: number; rows: number }>;
  /** Resolves with the shell's exit code when it ends. */
  readonly exited: Promise<number>;
  private readonly listeners = new Set<(data: string) => void>();
  private readonly decoder = new TextDecoder();
  /** Output that arrived before anyone listened (the replay comes right after `ready`). */
  private early: string[] | undefined = [];

  constructor(private readonly ws: WebSocketType) {
    let onReady!: (v: { id: string; cols: number; rows: number }) => void;
    let onExit!: (code: number) => void;
    this.ready = new Promise((resolve, reject) => {
      onReady = resolve;
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d));
        res.on("end", () => {
          try {
            reject(new BurrowApiError(res.statusCode ?? 500, JSON.parse(text)));
          } catch {
            reject(new BurrowApiError(res.statusCode ?? 500, { code: `HTTP_${res.statusCode}`, message: text }));
          }
        });
      });
    });
    this.ready.catch(() => {});
    this.exited = new Promise((resolve) => (onExit = resolve));
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        const text = this.decoder.decode(data, { stream: true });
        if (this.early) this.early.push(text);
        else for (const l of this.listeners) l(text);
        return;
      }
      const msg = JSON.parse(data.toString()) as { type: string; id?: string; cols?: number; rows?: number; code?: number };
      if (msg.type === "ready") onReady({ id: msg.id!, cols: msg.cols!, rows: msg.rows! });
      if (msg.type === "exit") onExit(msg.code ?? 0);
    });
  }

  onData(listener: (data: string) => void): () => void {
    this.listeners.add(listener);
    if (this.early) {
      const held = this.early.join("");
      this.early = undefined;
      if (held) listener(held);
    }
    return () => this.listeners.delete(listener);
  }

  write(data: string | Uint8Array): void {
    this.ws.send(typeof data === "string" ? Buffer.from(data) : data, { binary: true });
  }

  resize(cols: number, rows: number): void {
    this.ws.send(JSON.stringify({ type: "resize", cols, rows }));
  }

  /** Leave the terminal (the shell keeps running for a later reconnect). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === this.ws.CLOSED) return resolve();
      this.ws.once("close", () => resolve());
      this.ws.close();
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Open a terminal WebSocket (Node: uses the ws package, so it can send the bearer token). */
export async function openTerminal(baseUrl: string, token: string, sandboxId: string, opts: TerminalOptions): Promise<TerminalConnection> {
  const { default: WebSocket } = await import("ws");
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(opts)) if (v !== undefined) q.set(k, String(v));
  const url = `${baseUrl.replace(/^http/, "ws")}/v1/sandboxes/${encodeURIComponent(sandboxId)}/terminal?${q}`;
  const conn = new TerminalConnection(new WebSocket(url, { headers: { authorization: `Bearer ${token}` } }));
  await conn.ready;
  return conn;
}
