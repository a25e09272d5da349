import { randomUUID } from "node:crypto";
import type { UIMessage, UIMessageChunk } from "ai";
import { Agent, internals, type ConnectionContext } from "../agent.js";
import type { Connection } from "../connection.js";
import { chunksOf, type ChatResponse } from "./chunks.js";
import { ChatFrame, MAX_MESSAGE_BYTES, readChatFrame, requestBody, type Incoming } from "./protocol.js";
import { ChatStore } from "./store.js";
import { buildMessage } from "./build-message.js";
import { recoverOpenStreams } from "./recover.js";
import { catchUpFrames, plainDelta, replayFrames } from "./replay.js";
import { newActiveStream, type ActiveStream } from "./active-stream.js";
import { messageWithToolCall, withToolAnswer } from "./tool-answers.js";

export interface ChatMessageOptions {
  /** Aborted when a client cancels the answer or the chat is cleared: stop the model when it fires. */
  signal: AbortSignal;
  /** Call `callback` with the stored answer once it has been persisted (undefined if it had no parts). */
  onFinish(callback: (message: UIMessage | undefined) => void): void;
  /** The client's request id (echoed on every frame of the answer). */
  requestId: string;
  /** Whatever the client sent besides `messages` (useAgentChat's `body` option). */
  body: Record<string, unknown>;
  /** True when this answer continues the last assistant message (after a tool approval or a client tool result). */
  continuation: boolean;
}

interface Turn {
  requestId: string;
  continuation: boolean;
  body: Record<string, unknown>;
  /** Connections that already hold the transcript this turn starts from. */
  exclude: string[];
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * A chat agent that speaks the wire protocol of `@cloudflare/ai-chat`, so the
 * unmodified `useAgentChat` drives it. Subclass it and implement
 * `onChatMessage(messages, options)` returning an `ai` UI message stream
 * (a Response, a ReadableStream or an async iterable of chunks). The class
 * keeps the conversation in the agent's SQLite, broadcasts it, keeps each
 * chunk of an answer in progress so a reconnecting client is sent all of it,
 * applies tool approvals and client tool results, and cancels on request.
 *
 * Lifecycle methods (onStart, onConnect, onMessage, onClose, onRequest) may
 * be overridden as methods; frames of the chat protocol never reach onMessage.
 */
export abstract class ChatAgent<Env = unknown, State = unknown> extends Agent<Env, State> {
  /** Keep at most this many messages (the oldest go first). */
  maxPersistedMessages?: number;

  private chatStoreCache: ChatStore | undefined;
  private transcript: UIMessage[] | undefined;
  private active: ActiveStream | undefined;
  private turns: Promise<void> = Promise.resolve();
  private readonly aborts = new Map<string, AbortController>();
  /** Bumped by a clear: a turn that started before it stores nothing. */
  private generation = 0;
  /** Turns accepted whose stream has not started yet, and the connections told to wait for them. */
  private accepted = 0;
  private readonly awaiting = new Map<string, { conn: Connection; probeId?: string }>();
  /**
   * Connections whose tool approval or result asked for a continuation that has not ended. useAgentChat
   * follows its own continuation from the live chunks (applied to the last assistant message); resumed,
   * they would start a fresh message in the client, which then fails on the continued tool call.
   */
  private readonly continuing = new Map<string, number>();

  abstract onChatMessage(messages: UIMessage[], options: ChatMessageOptions): ChatResponse | void | Promise<ChatResponse | void>;

  constructor(name: string, env: Env) {
    super(name, env);
    // Wrap the subclass's own lifecycle methods (already on the prototype chain) so the chat protocol runs first.
    const onStart = this.onStart;
    this.onStart = async () => {
      const store = this.chatStore();
      if (store.openStreams().length) this.transcript = await recoverOpenStreams(store, this.messages);
      return onStart.call(this);
    };
    const onConnect = this.onConnect;
    this.onConnect = (conn: Connection, ctx: ConnectionContext) => {
      this.offerResume(conn);
      return onConnect.call(this, conn, ctx);
    };
    const onClose = this.onClose;
    this.onClose = (conn: Connection, code: number, reason: string) => {
      this.active?.pending.delete(conn.id);
      this.active?.caughtUp.delete(conn.id);
      this.awaiting.delete(conn.id);
      this.continuing.delete(conn.id);
      return onClose.call(this, conn, code, reason);
    };
    const onMessage = this.onMessage;
    this.onMessage = async (conn: Connection, message: string | Buffer) => {
      if (await this.onChatFrame(conn, message)) return;
      return onMessage.call(this, conn, message);
    };
    const onRequest = this.onRequest;
    this.onRequest = (request: Request) => {
      // useAgentChat loads the transcript from here before it connects.
      if (request.method === "GET" && new URL(request.url).pathname.endsWith("/get-messages")) return Response.json(this.messages);
      return onRequest.call(this, request);
    };
  }

  /** The stored conversation, oldest first. */
  get messages(): UIMessage[] {
    return (this.transcript ??= this.chatStore().messages());
  }

  /** Replace the conversation (server-side), store it and send it to every client. */
  saveMessages(messages: UIMessage[]): void {
    this.setTranscript(messages);
    this.sendFrame({ type: ChatFrame.MESSAGES, messages: this.messages });
  }

  /** Forget the conversation, cancel an answer in progress, and tell every client. */
  clearMessages(except: string[] = []): void {
    this.generation++;
    for (const a of this.aborts.values()) a.abort();
    this.chatStore().clear();
    this.transcript = [];
    this.sendFrame({ type: ChatFrame.CLEAR }, except);
  }

  private chatStore(): ChatStore {
    return (this.chatStoreCache ??= new ChatStore(this[internals].storage.db));
  }

  private setTranscript(messages: UIMessage[]): void {
    const kept = this.maxPersistedMessages && messages.length > this.maxPersistedMessages ? messages.slice(-this.maxPersistedMessages) : messages;
    this.chatStore().replace(kept);
    this.transcript = kept;
  }

  private sendFrame(frame: object, except: Iterable<string> = []): void {
    this.broadcast(JSON.stringify(frame), [...except]);
  }

  private refuse(conn: Connection, code: string, message: string, requestId?: string): true {
    conn.send({ type: ChatFrame.ERROR, code, message });
    // A refused request still ends, so the client's send settles instead of waiting.
    if (requestId) conn.send({ type: ChatFrame.RESPONSE, id: requestId, body: message, done: true, error: true });
    return true;
  }

  // --- frames ------------------------------------------------------------------

  /** Handle a chat-protocol frame; false when the frame is not one (it goes to onMessage). */
  private async onChatFrame(conn: Connection, data: string | Buffer): Promise<boolean> {
    const read = readChatFrame(data);
    if (!read) return false;
    if ("refused" in read) return this.refuse(conn, "CHAT_BAD_FRAME", read.refused, read.requestId);
    const f = read.frame;
    // A readonly connection may watch the chat (and resume it) but not change it.
    if (conn.readonly && f.type !== ChatFrame.RESUME_REQUEST && f.type !== ChatFrame.RESUME_ACK)
      return this.refuse(conn, "CHAT_READONLY", "this connection is readonly: it cannot send, change or clear the chat", f.type === ChatFrame.REQUEST ? f.id : undefined);
    switch (f.type) {
      case ChatFrame.REQUEST:
        return this.onRequestFrame(conn, f);
      case ChatFrame.MESSAGES: {
        const big = f.messages.find((m) => JSON.stringify(m).length > MAX_MESSAGE_BYTES);
        if (big) return this.refuse(conn, "CHAT_MESSAGE_TOO_LARGE", `message ${big.id} is over ${MAX_MESSAGE_BYTES} bytes; send it in smaller parts`);
        this.setTranscript(f.messages as UIMessage[]);
        this.sendFrame({ type: ChatFrame.MESSAGES, messages: this.messages }, [conn.id]);
        return true;
      }
      case ChatFrame.CLEAR:
        this.clearMessages([conn.id]);
        return true;
      case ChatFrame.CANCEL:
        this.aborts.get(f.id)?.abort();
        return true;
      case ChatFrame.RESUME_REQUEST:
        if (this.continuing.has(conn.id)) conn.send({ type: ChatFrame.RESUME_NONE, reason: "idle", ...(f.probeId ? { probeId: f.probeId } : {}) });
        else if (this.active) this.offerResume(conn, f.probeId, true);
        else if (this.accepted > 0) {
          // A turn is coming (a continuation after a tool approval, say): keep the client waiting for it.
          this.awaiting.set(conn.id, { conn, ...(f.probeId ? { probeId: f.probeId } : {}) });
          conn.send({ type: ChatFrame.STREAM_PENDING, ...(f.probeId ? { probeId: f.probeId } : {}) });
        } else conn.send({ type: ChatFrame.RESUME_NONE, reason: "idle", ...(f.probeId ? { probeId: f.probeId } : {}) });
        return true;
      case ChatFrame.RESUME_ACK:
        this.replay(conn, f.id);
        return true;
      case ChatFrame.TOOL_APPROVAL:
      case ChatFrame.TOOL_RESULT:
        this.onToolFrame(conn, f);
        return true;
    }
  }

  private onRequestFrame(conn: Connection, f: Extract<Incoming, { type: typeof ChatFrame.REQUEST }>): true {
    if (f.init.method && f.init.method !== "POST") return this.refuse(conn, "CHAT_BAD_FRAME", `chat requests are POST, not ${f.init.method}`, f.id);
    let body: unknown;
    try {
      body = JSON.parse(f.init.body ?? "");
    } catch {
      return this.refuse(conn, "CHAT_BAD_FRAME", "the chat request's init.body is not JSON; send {messages: [...]}", f.id);
    }
    const parsed = requestBody.safeParse(body);
    if (!parsed.success) return this.refuse(conn, "CHAT_BAD_FRAME", `the chat request's body needs messages: an array of UI messages (${parsed.error.issues[0]?.message})`, f.id);
    const big = parsed.data.messages.find((m) => JSON.stringify(m).length > MAX_MESSAGE_BYTES);
    if (big) return this.refuse(conn, "CHAT_MESSAGE_TOO_LARGE", `message ${big.id} is over ${MAX_MESSAGE_BYTES} bytes; send it in smaller parts`, f.id);
    const { messages, trigger: _trigger, ...rest } = parsed.data;
    this.setTranscript(messages as UIMessage[]);
    this.sendFrame({ type: ChatFrame.MESSAGES, messages: this.messages }, [conn.id]);
    this.startTurn({ requestId: f.id, continuation: false, body: rest, exclude: [conn.id] });
    return true;
  }

  /** Apply a tool approval or a client tool result after any answer in progress, then continue if asked. */
  private onToolFrame(conn: Connection, f: Extract<Incoming, { type: typeof ChatFrame.TOOL_APPROVAL | typeof ChatFrame.TOOL_RESULT }>): void {
    const owner = f.autoContinue ? conn.id : undefined;
    if (owner) this.continuing.set(owner, (this.continuing.get(owner) ?? 0) + 1);
    this.chain(async () => {
      const messages = this.messages;
      const mi = messageWithToolCall(messages, f.toolCallId);
      if (mi < 0) return void this.refuse(conn, "CHAT_TOOL_CALL_NOT_FOUND", `no tool call ${f.toolCallId} in this conversation`);
      const updated = withToolAnswer(messages[mi]!, f);
      this.setTranscript(messages.map((m, i) => (i === mi ? updated : m)));
      this.sendFrame({ type: ChatFrame.MESSAGE_UPDATED, message: updated });
      if (f.autoContinue) await this.runTurn({ requestId: randomUUID(), continuation: true, body: {}, exclude: [] });
    }, !!f.autoContinue, () => {
      if (!owner) return;
      const n = (this.continuing.get(owner) ?? 1) - 1;
      if (n > 0) this.continuing.set(owner, n);
      else this.continuing.delete(owner);
    });
  }

  // --- answers -----------------------------------------------------------------

  /** Run `work` after every earlier turn; `isTurn` when it will stream an answer. */
  private chain(work: () => Promise<void>, isTurn = true, settled?: () => void): void {
    if (isTurn) this.accepted++;
    const next = this.turns
      .then(work)
      .catch((err) => this[internals].reportError("chat", err))
      .finally(() => {
        settled?.();
        if (isTurn) this.accepted--;
        if (this.accepted === 0 && !this.active) this.releaseAwaiting();
      });
    this.turns = next;
    // The answer outlives the frame that asked for it: keep the instance in memory until it ends.
    void this[internals].keepAliveWhile(next);
  }

  private startTurn(turn: Turn): void {
    // Registered now, so a cancel that arrives before the turn starts still counts.
    this.aborts.set(turn.requestId, new AbortController());
    this.chain(() => this.runTurn(turn));
  }

  /** No answer is coming after all: the waiting clients stop waiting. */
  private releaseAwaiting(): void {
    for (const { conn, probeId } of this.awaiting.values()) conn.send({ type: ChatFrame.RESUME_NONE, reason: "idle", ...(probeId ? { probeId } : {}) });
    this.awaiting.clear();
  }

  private async runTurn(turn: Turn): Promise<void> {
    const { requestId, continuation } = turn;
    const abort = this.aborts.get(requestId) ?? new AbortController();
    this.aborts.set(requestId, abort);
    const generation = this.generation;
    const cont = continuation ? { continuation: true } : {};
    const finishers: ((m: UIMessage | undefined) => void)[] = [];
    try {
      const base = continuation ? this.messages.findLast((m) => m.role === "assistant") : undefined;
      let response: ChatResponse | void;
      try {
        if (abort.signal.aborted) throw new Error("cancelled");
        response = await this.onChatMessage([...this.messages], { signal: abort.signal, onFinish: (cb) => finishers.push(cb), requestId, body: turn.body, continuation });
      } catch (err) {
        if (abort.signal.aborted) return this.sendFrame({ type: ChatFrame.RESPONSE, id: requestId, body: "", done: true, outcome: "aborted", ...cont });
        return this.sendFrame({ type: ChatFrame.RESPONSE, id: requestId, body: errorText(err), done: true, error: true, ...cont });
      }
      if (!response) return this.sendFrame({ type: ChatFrame.RESPONSE, id: requestId, body: "", done: true, outcome: "completed", ...cont });

      const store = this.chatStore();
      const active = newActiveStream(requestId, base?.id ?? randomUUID(), continuation);
      store.startStream(requestId, active.messageId, continuation);
      this.active = active;
      for (const { conn, probeId } of this.awaiting.values()) this.offerResume(conn, probeId, true);
      this.awaiting.clear();
      const builder = await buildMessage(base ?? { id: active.messageId, role: "assistant", parts: [] });
      const emit = (chunk: UIMessageChunk) => {
        const body = JSON.stringify(chunk);
        const seq = active.seq++;
        // Stored and sent in one step: a replay reads the same rows, so a resuming client misses nothing and sees nothing twice.
        store.addChunk(requestId, seq, body);
        active.bodies.push(body);
        active.deltas.push(plainDelta(chunk));
        this.sendFrame({ type: ChatFrame.RESPONSE, id: requestId, body, done: false, seq, ...cont }, active.pending);
        builder.push(chunk);
      };
      let outcome: "completed" | "aborted" | "error" = "completed";
      let failure = "";
      try {
        let first = true;
        for await (const chunk of chunksOf(response, abort.signal)) {
          if (first && !continuation) {
            // The client adopts the server's id for the answer, so later requests name the same message.
            if (chunk.type === "start") {
              if (chunk.messageId) active.messageId = chunk.messageId;
              else (chunk as { messageId?: string }).messageId = active.messageId;
            } else emit({ type: "start", messageId: active.messageId });
          }
          first = false;
          emit(chunk);
        }
        if (abort.signal.aborted) outcome = "aborted";
      } catch (err) {
        if (abort.signal.aborted) outcome = "aborted";
        else {
          outcome = "error";
          failure = errorText(err);
        }
      }
      const built = await builder.finish();
      this.active = undefined;
      if (generation !== this.generation) {
        store.endStream(requestId);
        return this.sendFrame({ type: ChatFrame.RESPONSE, id: requestId, body: "", done: true, outcome: "aborted", ...cont });
      }
      const answer = built.parts.length ? { ...built, id: active.messageId } : undefined;
      let messages = this.messages;
      if (answer) messages = base ? messages.map((m) => (m.id === base.id ? answer : m)) : [...messages, answer];
      const kept = this.maxPersistedMessages && messages.length > this.maxPersistedMessages ? messages.slice(-this.maxPersistedMessages) : messages;
      store.endStream(requestId, kept);
      this.transcript = kept;
      if (outcome === "error") this.sendFrame({ type: ChatFrame.RESPONSE, id: requestId, body: failure, done: true, error: true, ...cont });
      else this.sendFrame({ type: ChatFrame.RESPONSE, id: requestId, body: "", done: true, outcome, ...cont });
      this.sendFrame({ type: ChatFrame.MESSAGES, messages: this.messages }, turn.exclude);
      for (const f of finishers) {
        try {
          f(answer);
        } catch (err) {
          this[internals].reportError("onFinish", err);
        }
      }
    } finally {
      this.aborts.delete(requestId);
    }
  }

  // --- resuming ----------------------------------------------------------------

  /** `probed`: the client asked (a resume request), so it is owed an answer. */
  private offerResume(conn: Connection, probeId?: string, probed = false): void {
    if (!this.active) return;
    if (this.active.continuation) {
      this.catchUp(conn, this.active);
      if (probed) conn.send({ type: ChatFrame.RESUME_NONE, reason: "idle", ...(probeId ? { probeId } : {}) });
      return;
    }
    this.active.pending.add(conn.id);
    conn.send({ type: ChatFrame.RESUMING, id: this.active.requestId, ...(probeId ? { probeId } : {}) });
  }

  /**
   * A connection that joins during a continuation (a reloaded page, a dropped
   * one back) is not offered a resume: useAgentChat would take a resumed stream
   * for a fresh message, which has none of the tool calls the continuation
   * answers ("No tool invocation found"). It gets the stored transcript and the
   * continuation's chunks so far as live frames instead, which useAgentChat
   * applies to the last assistant message as it does for the connection that
   * asked for the continuation; the live chunks follow. The transcript comes
   * first so that a page that had applied some of these chunks starts again
   * from the stored message and sees none twice. One step, one socket write.
   */
  private catchUp(conn: Connection, active: ActiveStream): void {
    if (active.caughtUp.has(conn.id)) return;
    active.caughtUp.add(conn.id);
    conn.sendAll(catchUpFrames(active.requestId, this.messages, active.bodies));
  }

  /** Send a connection every chunk so far of the answer it acknowledged, then let it follow the live ones. */
  private replay(conn: Connection, requestId: string): void {
    const active = this.active;
    if (!active || active.requestId !== requestId) {
      // That answer has ended: its message reaches the client with the transcript.
      return conn.send({ type: ChatFrame.RESPONSE, id: requestId, body: "", done: true, replay: true });
    }
    active.pending.delete(conn.id);
    conn.sendAll(replayFrames(requestId, active.bodies, active.deltas, active.continuation));
  }
}
