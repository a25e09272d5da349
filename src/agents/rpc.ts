import { AsyncLocalStorage } from "node:async_hooks";
import type { Connection } from "./connection.js";

/** The connection an RPC came from, visible to setState through async calls. */
export const callerContext = new AsyncLocalStorage<{ connection: Connection }>();

/** Handed to a streaming callable as its first argument. */
export class StreamingResponse {
  private closed = false;

  constructor(
    private readonly connection: Connection,
    private readonly id: string,
  ) {}

  /** Send one chunk (`done: false`). */
  send(chunk: unknown): void {
    if (this.closed) return;
    this.connection.send({ type: "rpc", id: this.id, success: true, done: false, result: chunk });
  }

  /** Finish the stream (`done: true`); closing twice is harmless. */
  end(final?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.send({ type: "rpc", id: this.id, success: true, done: true, result: final });
  }

  error(message: string): void {
    if (this.closed) return;
    this.closed = true;
    this.connection.send({ type: "rpc", id: this.id, success: false, error: message });
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
