import type { WebSocket } from "ws";
import { messageOf, report } from "../observability/channels.js";

/** How binary messages are handed to listeners: as Node Buffers (the default), ArrayBuffers or Blobs. */
export type BinaryType = "nodebuffer" | "arraybuffer" | "blob";

export interface ConnectionMessageEvent {
  readonly type: "message";
  /** A string for a text frame; for a binary one, what `binaryType` says. */
  readonly data: string | Buffer | ArrayBuffer | Blob;
  readonly target: Connection;
}

export interface ConnectionCloseEvent {
  readonly type: "close";
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  readonly target: Connection;
}

export interface ConnectionErrorEvent {
  readonly type: "error";
  readonly error: unknown;
  readonly message: string;
  readonly target: Connection;
}

interface EventMap {
  message: ConnectionMessageEvent;
  close: ConnectionCloseEvent;
  error: ConnectionErrorEvent;
}
type EventName = keyof EventMap;
type Listener<E> = ((event: E) => void) | { handleEvent(event: E): void };

/** What the instance uses to feed a connection's events in; not for agents. */
export const feed = Symbol("burrow.connection.feed");

/**
 * One client's WebSocket to an agent instance, shaped like the browser's
 * WebSocket (send, close, readyState, add/removeEventListener for message,
 * close and error, on* handlers, binaryType), so it can be handed to a
 * library that expects a socket, such as a realtime transport for a phone
 * call's media stream. It wraps the `ws` socket: messages are passed on as
 * they arrived, not copied.
 *
 * The rule for messages: every message is given to this connection's
 * listeners first, then to the agent's `onMessage`, in the order they came,
 * one at a time with the agent's other events. An agent that handed the
 * connection to another library and wants it to have the messages alone sets
 * `connection.forwardToOnMessage = false`. The agents protocol's own frames
 * (state updates and RPC from `AgentClient`) are always handled.
 */
export class Connection<ConnState = unknown> {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;

  state: ConnState | undefined;
  readonly: boolean = false;
  binaryType: BinaryType = "nodebuffer";
  /** Whether messages reach the agent's `onMessage` after this connection's listeners (see the class comment). */
  forwardToOnMessage = true;
  onmessage: ((event: ConnectionMessageEvent) => void) | null = null;
  onclose: ((event: ConnectionCloseEvent) => void) | null = null;
  onerror: ((event: ConnectionErrorEvent) => void) | null = null;
  private readonly listeners: { [K in EventName]: Set<Listener<EventMap[K]>> } = { message: new Set(), close: new Set(), error: new Set() };
  private readonly once = new WeakSet<object>();
  /** Blob sends resolve later; later sends wait for them so order holds. */
  private sending: Promise<void> | undefined;

  constructor(
    /** The client's connection id (`_pk`), stable across its reconnects. */
    readonly id: string,
    private readonly ws: WebSocket,
    readonly url: string,
  ) {}

  get readyState(): number {
    return this.ws.readyState;
  }

  get protocol(): string {
    return this.ws.protocol;
  }

  get extensions(): string {
    return this.ws.extensions;
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  get open(): boolean {
    return this.ws.readyState === this.ws.OPEN;
  }

  /** Text (a string; a plain object is sent as JSON) or binary (Buffer, ArrayBuffer, a typed array or DataView, Blob). Dropped once closed. */
  send(message: string | object | ArrayBufferLike | ArrayBufferView | Blob): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (typeof Blob !== "undefined" && message instanceof Blob) {
      const prior = this.sending;
      const done: Promise<void> = (async () => {
        const bytes = Buffer.from(await message.arrayBuffer());
        await prior;
        if (this.ws.readyState === this.ws.OPEN) this.ws.send(bytes, { binary: true });
      })().finally(() => {
        if (this.sending === done) this.sending = undefined;
      });
      this.sending = done;
      return;
    }
    const frame = binaryFrame(message);
    const put = () => (frame ? this.ws.send(frame, { binary: true }) : this.ws.send(typeof message === "string" ? message : JSON.stringify(message)));
    if (this.sending) void this.sending.then(() => this.ws.readyState === this.ws.OPEN && put());
    else put();
  }

  /**
   * Send several messages, in order, in one write: the socket is corked while
   * ws frames them, so a replay of many chunks is not a system call each.
   */
  sendAll(messages: readonly string[]): void {
    const socket = (this.ws as unknown as { _socket?: { cork?(): void; uncork?(): void } })._socket;
    socket?.cork?.();
    try {
      for (const m of messages) this.send(m);
    } finally {
      socket?.uncork?.();
    }
  }

  setState(state: ConnState): void {
    this.state = state;
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }

  addEventListener<K extends EventName>(type: K, listener: Listener<EventMap[K]> | null, options?: { once?: boolean } | boolean): void {
    if (!listener || !this.listeners[type]) return;
    this.listeners[type].add(listener);
    if (typeof options === "object" && options.once) this.once.add(listener);
  }

  removeEventListener<K extends EventName>(type: K, listener: Listener<EventMap[K]> | null): void {
    if (listener) this.listeners[type]?.delete(listener);
  }

  /** @internal The instance's entry points: a message, the close, an error of the socket. */
  readonly [feed] = {
    message: (raw: string | Buffer): void => {
      // Most connections (AgentClient's) have no listener: no event is built for them.
      if (!this.onmessage && this.listeners.message.size === 0) return;
      this.dispatch("message", { type: "message", data: typeof raw === "string" ? raw : this.asBinary(raw), target: this });
    },
    close: (code: number, reason: string): void => {
      this.dispatch("close", { type: "close", code, reason, wasClean: code !== 1006, target: this });
    },
    error: (error: unknown): void => {
      this.dispatch("error", { type: "error", error, message: error instanceof Error ? error.message : String(error), target: this });
    },
  };

  private asBinary(buf: Buffer): Buffer | ArrayBuffer | Blob {
    if (this.binaryType === "nodebuffer") return buf;
    if (this.binaryType === "blob") return new Blob([buf as Uint8Array<ArrayBuffer>]);
    // The Buffer's own memory when it spans it whole (ws allocates one per message); a slice otherwise.
    const ab = buf.buffer as ArrayBuffer;
    return buf.byteOffset === 0 && buf.byteLength === ab.byteLength ? ab : ab.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  }

  private dispatch<K extends EventName>(type: K, event: EventMap[K]): void {
    const handler = this[`on${type}`] as ((e: EventMap[K]) => void) | null;
    const all: Listener<EventMap[K]>[] = [...(handler ? [handler] : []), ...(this.listeners[type] as Set<Listener<EventMap[K]>>)];
    for (const l of all) {
      if (this.once.has(l as object)) {
        this.listeners[type].delete(l as never);
        this.once.delete(l as object);
      }
      // One listener's failure does not keep the event from the others (as in the browser).
      try {
        if (typeof l === "function") l.call(this, event);
        else l.handleEvent(event);
      } catch (err) {
        report("error", "agent.listener_failed", `agent connection ${this.id}: a ${type} listener threw: ${messageOf(err)}`, { connection: this.id, listener: type });
      }
    }
  }
}

function binaryFrame(m: unknown): Buffer | undefined {
  if (Buffer.isBuffer(m)) return m;
  if (m instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && m instanceof SharedArrayBuffer)) return Buffer.from(m);
  if (ArrayBuffer.isView(m)) return Buffer.from(m.buffer, m.byteOffset, m.byteLength);
  return undefined;
}
