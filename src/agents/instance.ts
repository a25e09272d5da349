import { rmSync } from "node:fs";
import { channels, messageOf, publish, report } from "../observability/channels.js";
import { tracer } from "../observability/tracing.js";
import type { WebSocket } from "ws";
import { Agent, internals, type ConnectionContext } from "./agent.js";
import { callableByName } from "./callable.js";
import { Connection, feed } from "./connection.js";
import { callerContext, StreamingResponse } from "./rpc.js";
import { Scheduler } from "./schedules.js";
import { AgentStorage } from "./storage.js";
import type { Sandbox } from "../client/index.js";
import { createHash } from "node:crypto";

/** A valid sandbox name for an agent: `<class>-<name>`, shortened with a hash when needed. */
export function sandboxIdFor(kebabClass: string, name: string): string {
  const slug = `${kebabClass}-${name}`.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-|-$/g, "");
  if (slug.length <= 63 && slug === `${kebabClass}-${name}`) return slug;
  const hash = createHash("sha256").update(`${kebabClass}\0${name}`).digest("hex").slice(0, 8);
  return `${slug.slice(0, 54).replace(/-$/, "")}-${hash}`;
}

export type AgentClass = (new (name: string, env: never) => Agent<unknown, unknown>) & { onBeforeConnect?: (req: Request) => Response | void | Promise<Response | void>; onBeforeRequest?: (req: Request) => Response | Request | void | Promise<Response | Request | void> };

export interface InstanceDeps {
  file: string;
  /** The bytes of an empty agent file, written when `file` does not exist yet (see ensureTemplate). */
  template?: Buffer;
  sandbox?: (id: string) => Sandbox;
  kebab: string;
  env: unknown;
  onNextAlarm: (time: number | undefined) => void;
  onDestroyed: () => void;
}

const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * One live agent: its object, storage, connections, and an event queue that
 * delivers one event at a time (onStart first; a connection's onConnect before
 * its messages; messages in order).
 */
export class Instance {
  readonly agent: Agent<unknown, unknown>;
  readonly storage: AgentStorage;
  readonly scheduler: Scheduler;
  private readonly connections = new Map<string, Connection>();
  /** Connections the agent asked not to get the agents protocol's frames (identity, state). */
  private readonly quiet = new WeakSet<Connection>();
  private queue: Promise<unknown> = Promise.resolve();
  private pending = 0;
  lastActive = Date.now();
  destroyed = false;

  constructor(
    cls: AgentClass,
    readonly name: string,
    private readonly deps: InstanceDeps,
  ) {
    this.storage = new AgentStorage(deps.file, deps.template);
    this.scheduler = new Scheduler(this.storage, deps.onNextAlarm);
    this.agent = new cls(name, deps.env as never);
    this.agent[internals] = {
      storage: this.storage,
      scheduler: this.scheduler,
      connections: () => [...this.connections.values()],
      broadcastState: (state, except) => {
        const frame = JSON.stringify({ type: "cf_agent_state", state });
        for (const c of this.connections.values()) if (c !== except && !this.quiet.has(c)) c.send(frame);
        publish(channels.agentEvent, () => ({ agent: this.deps.kebab, name: this.name, event: "state" }));
      },
      destroy: () => this.destroy(),
      sandbox: () => this.sandbox(),
      reportError: (where, err) => this.reportError(where, err),
      keepAliveWhile: (work) => {
        this.pending++;
        work.finally(() => {
          this.pending--;
          this.lastActive = Date.now();
        }).catch(() => {});
        return work;
      },
    };
    // A readonly connection may not change state, whether by frame or through a method it calls.
    const apply = this.agent.applyState.bind(this.agent);
    this.agent.applyState = (state, source) => {
      if (callerContext.getStore()?.connection?.readonly) throw new Error("Connection is readonly");
      apply(state, source);
    };
    // A new agent's file is copied first, off the event loop; every event waits behind this one.
    this.enqueue(async () => {
      await this.storage.prepare();
      await this.agent.onStart();
    });
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  get idle(): boolean {
    return this.pending === 0 && this.connections.size === 0;
  }

  /** Deliver an event after every earlier one has been handled. */
  enqueue<T>(event: () => T | Promise<T>): Promise<T> {
    this.pending++;
    this.lastActive = Date.now();
    const run = this.queue.then(event);
    this.queue = run.catch(() => {}).finally(() => {
      this.pending--;
      this.lastActive = Date.now();
      this.settle();
    });
    return run;
  }

  /** Nothing to do and no one connected: what it cached is given back until the next event. */
  private settle(): void {
    if (this.idle && !this.destroyed) this.storage.shrink();
  }

  accept(ws: WebSocket, request: Request, connectionId: string): void {
    const conn = new Connection(connectionId, ws, request.url);
    const ctx: ConnectionContext = { request };
    this.connections.set(conn.id, conn);
    publish(channels.agentConnection, () => ({ agent: this.deps.kebab, delta: 1 }));
    this.enqueue(async () => {
      conn.readonly = this.agent.shouldConnectionBeReadonly(conn, ctx);
      if (this.agent.shouldSendProtocolMessages(conn, ctx)) {
        const state = this.agent.state;
        conn.send({ type: "cf_agent_identity", name: this.name, agent: this.deps.kebab, ...(state !== undefined ? { stateFollows: true } : {}) });
        if (state !== undefined) conn.send({ type: "cf_agent_state", state });
      } else this.quiet.add(conn);
      await this.agent.onConnect(conn, ctx);
    }).catch((err) => this.failed(conn, "connect", err));
    // The connection's own listeners get each event in the same queue, so ones added in onConnect miss nothing.
    ws.on("message", (data, isBinary) => {
      const message = isBinary ? (data as Buffer) : data.toString();
      this.enqueue(async () => {
        conn[feed].message(message);
        await this.onFrame(conn, message);
      }).catch((err) => this.failed(conn, "message", err));
    });
    ws.on("close", (code, reason) => {
      this.connections.delete(conn.id);
      publish(channels.agentConnection, () => ({ agent: this.deps.kebab, delta: -1 }));
      this.enqueue(async () => {
        conn[feed].close(code, reason.toString());
        await this.agent.onClose(conn, code, reason.toString());
      }).catch((err) => this.failed(conn, "close", err));
    });
    ws.on("error", (err) => {
      conn[feed].error(err);
      ws.terminate();
    });
  }

  private async onFrame(conn: Connection, data: string | Buffer): Promise<void> {
    let msg: { type?: unknown; id?: unknown; method?: unknown; args?: unknown; state?: unknown } | undefined;
    if (typeof data === "string") {
      try {
        msg = JSON.parse(data);
      } catch {
        msg = undefined;
      }
    }
    if (msg && typeof msg === "object" && msg.type === "cf_agent_state") {
      if (conn.readonly) return conn.send({ type: "cf_agent_state_error", error: "Connection is readonly" });
      try {
        this.agent.applyState(msg.state, conn);
      } catch {
        conn.send({ type: "cf_agent_state_error", error: "State update rejected" });
      }
      return;
    }
    if (msg && typeof msg === "object" && msg.type === "rpc") {
      // Started in order, but not awaited here: concurrent calls resolve independently.
      if (typeof msg.id !== "string" && typeof msg.id !== "number") return;
      this.rpc(conn, String(msg.id), msg.method, msg.args);
      return;
    }
    if (conn.forwardToOnMessage) await this.agent.onMessage(conn, data);
  }

  private rpc(conn: Connection, id: string, method: unknown, args: unknown): void {
    const fail = (error: string) => conn.send({ type: "rpc", id, success: false, error });
    if (typeof method !== "string" || !method) return fail("RPC request needs a method name");
    const fn = (this.agent as unknown as Record<string, unknown>)[method];
    if (typeof fn !== "function" || method === "constructor") return fail(`Method ${method} does not exist`);
    const opts = callableByName(this.agent, method);
    if (!opts) return fail(`Method ${method} is not callable`);
    const list = Array.isArray(args) ? args : [];
    // A span per call (agent class and name as attributes); the agent's sandbox calls inside it are its children.
    const attrs = { agent: this.deps.kebab, "agent.name": this.name, "rpc.method": method, "rpc.streaming": !!opts.streaming };
    void tracer.child(undefined, "agent.rpc", attrs, (span) => callerContext.run({ connection: conn, span }, async () => {
      if (opts.streaming) {
        const stream = new StreamingResponse(conn, id);
        try {
          await fn.apply(this.agent, [stream, ...list]);
        } catch (err) {
          stream.error(errorMessage(err));
        }
        return;
      }
      const t0 = performance.now();
      let ok = false;
      try {
        const result = await fn.apply(this.agent, list);
        conn.send({ type: "rpc", id, success: true, done: true, result });
        ok = true;
      } catch (err) {
        fail(errorMessage(err));
        span.end(err); // an error status on the span; the caller got the message
      }
      publish(channels.agentRpc, () => ({ agent: this.deps.kebab, method, durationMs: performance.now() - t0, ok }));
    }));
  }

  /** A server-side call through a stub: any method, not only callable ones, in the instance's order. */
  call(method: string, args: unknown[]): Promise<unknown> {
    return this.enqueue(() => {
      const fn = (this.agent as unknown as Record<string, unknown>)[method];
      if (typeof fn !== "function") throw new Error(`Method ${method} does not exist on ${this.deps.kebab}`);
      return fn.apply(this.agent, args);
    });
  }

  /** An error in the agent's handling of a connection: reported (observability), then the agent's onError. */
  private failed(conn: Connection, where: string, err: unknown): void {
    this.reportError(where, err);
    void Promise.resolve()
      .then(() => this.agent.onError(conn, err))
      .catch((e) => report("error", "agent.on_error_failed", `agent ${this.deps.kebab}/${this.name}: onError threw: ${messageOf(e)}`, { agent: this.deps.kebab, name: this.name }));
  }

  private reportError(where: string, err: unknown): void {
    if (channels.agentEvent.hasSubscribers) channels.agentEvent.publish({ agent: this.deps.kebab, name: this.name, event: "error", detail: where, error: messageOf(err) });
    else console.error(`agent ${this.deps.kebab}/${this.name} (${where}):`, err);
  }

  /** Due schedules run as the agent itself, never in the context of whichever connection last armed the timer. */
  runSchedules(): Promise<void> {
    return callerContext.exit(() =>
      this.enqueue(() =>
        this.scheduler.runDue((callback, payload, schedule) =>
          // A trace of its own, not the one of the call that armed the timer; its span is the context of the agent's sandbox calls.
          tracer.child(null, "agent.schedule", { agent: this.deps.kebab, "agent.name": this.name, "schedule.callback": callback, "schedule.type": schedule.type }, async (span) => {
            const t0 = performance.now();
            const event = (ok: boolean, err?: unknown) =>
              publish(channels.agentEvent, () => ({ agent: this.deps.kebab, name: this.name, event: "schedule", detail: callback, ok, durationMs: performance.now() - t0, ...(err ? { error: messageOf(err) } : {}) }));
            try {
              const fn = (this.agent as unknown as Record<string, unknown>)[callback];
              if (typeof fn !== "function") throw new Error(`schedule callback ${callback} does not exist`);
              const run = async () => void (await fn.call(this.agent, payload, schedule));
              await (tracer.enabled ? callerContext.run({ span }, run) : run());
              event(true);
            } catch (err) {
              event(false, err);
              throw err;
            }
          }),
        ),
      ),
    );
  }

  /** The agent's sandbox handle; every call on it keeps the instance busy until it settles. */
  private sandboxHandle: Sandbox | undefined;
  private sandbox(): Sandbox {
    if (!this.deps.sandbox) throw new Error("this server runs agents without sandboxes");
    if (this.sandboxHandle) return this.sandboxHandle;
    const real = this.deps.sandbox(sandboxIdFor(this.deps.kebab, this.name));
    this.sandboxHandle = new Proxy(real, {
      get: (target, prop, receiver) => {
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== "function") return v;
        return (...args: unknown[]) => {
          const r = v.apply(target, args);
          if (r instanceof Promise) {
            this.pending++;
            r.finally(() => {
              this.pending--;
              this.lastActive = Date.now();
            }).catch(() => {});
          }
          return r;
        };
      },
    });
    return this.sandboxHandle;
  }

  /** Close the storage (eviction); connections are already gone. */
  close(): void {
    this.storage.close();
  }

  private async destroy(): Promise<void> {
    this.destroyed = true;
    for (const c of this.connections.values()) c.close(1000, "agent destroyed");
    this.connections.clear();
    this.storage.db.exec("DELETE FROM _burrow_schedules");
    this.deps.onNextAlarm(undefined);
    this.storage.close();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(this.deps.file + suffix, { force: true });
    this.deps.onDestroyed();
  }
}
