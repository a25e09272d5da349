import { AsyncLocalStorage } from "node:async_hooks";
import type { Connection } from "./connection.js";
import type { SpanContext } from "../observability/tracing.js";

/**
 * The connection an RPC came from, visible to setState through async calls,
 * and the span of the RPC or schedule run (with tracing on), which the
 * agent's sandbox calls carry (`currentSpan`).
 */
export const callerContext = new AsyncLocalStorage<{ connection?: Connection; span?: SpanContext }>();

export const currentSpan = (): SpanContext | undefined => callerContext.getStore()?.span;

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
