import type { Connection } from "./connection.js";
import { AgentStorage } from "./storage.js";
import type { Scheduler, Schedule, ScheduleWhen } from "./schedules.js";
import type { Sandbox } from "../client/index.js";

/** What an instance is told about a new connection. */
export interface ConnectionContext {
  /** The upgrade request: method, URL with its path and query, headers. */
  request: Request;
}

/** Where a state change came from: the server's own code, or a client connection. */
export type StateSource = Connection | "server";

/** Access the host keeps to each instance: not part of the public surface. */
export const internals = Symbol("burrow.agent.internals");

export interface AgentInternals {
  storage: AgentStorage;
  broadcastState(state: unknown, except?: Connection): void;
  connections(): Connection[];
  scheduler: Scheduler;
  destroy(): Promise<void>;
  /** This agent's own sandbox, when the server has sandboxes. */
  sandbox(): Sandbox;
  /** An error in the agent's own code: logged by the server (agent.error) and counted. */
  reportError(where: string, err: unknown): void;
  /** Count the instance as busy (not evicted) until `work` settles: for work that outlives the event that started it. */
  keepAliveWhile<T>(work: Promise<T>): Promise<T>;
}

/**
 * A durable agent: one live instance per (class, name), with state that is
 * persisted and pushed to connected clients, its own SQL store, schedules and
 * callable methods. Subclass it; the host constructs instances.
 */
export class Agent<Env = unknown, State = unknown> {
  /** State before any has been set. */
  initialState?: State;
  /** @internal */
  [internals]!: AgentInternals;
  private cachedState: { value: State | undefined } | undefined;

  constructor(
    readonly name: string,
    readonly env: Env,
  ) {}

  /** The current state: stored state, else `initialState` (persisted on first read). */
  get state(): State {
    if (this.cachedState) return this.cachedState.value as State;
    const raw = this[internals].storage.get("state");
    let value: State | undefined;
    if (raw !== undefined) {
      try {
        value = JSON.parse(raw) as State;
      } catch {
        value = undefined; // corrupt: fall back to the initial state
      }
    }
    if (value === undefined && this.initialState !== undefined) {
      value = this.initialState;
      this[internals].storage.put("state", JSON.stringify(value));
    }
    this.cachedState = { value };
    return value as State;
  }

  /** Replace the whole state: validated, persisted, then broadcast, then `onStateChanged`. */
  setState(state: State): void {
    this.applyState(state, "server");
  }

  /** @internal shared by setState and client state frames. */
  applyState(state: State, source: StateSource): void {
    this.validateStateChange(state, source); // throws to refuse
    this[internals].storage.put("state", JSON.stringify(state));
    this.cachedState = { value: state };
    this[internals].broadcastState(state, source === "server" ? undefined : source);
    try {
      const r = this.onStateChanged(state, source) as unknown;
      if (r instanceof Promise) r.catch((err) => this[internals].reportError("onStateChanged", err));
    } catch (err) {
      this[internals].reportError("onStateChanged", err);
    }
  }

  /** Throw to refuse a state change (the client gets cf_agent_state_error). */
  validateStateChange(_next: State, _source: StateSource): void {}
  onStateChanged(_state: State, _source: StateSource): void | Promise<void> {}

  /** `` this.sql`SELECT * FROM t WHERE id = ${id}` ``: parameterised and synchronous. */
  sql<T = Record<string, unknown>>(strings: TemplateStringsArray, ...values: unknown[]): T[] {
    return this[internals].storage.sql<T>(strings, ...values);
  }

  onStart(): void | Promise<void> {}
  onRequest(_request: Request): Response | Promise<Response> {
    return new Response("Not found", { status: 404 });
  }
  onConnect(_connection: Connection, _ctx: ConnectionContext): void | Promise<void> {}
  onMessage(_connection: Connection, _message: string | Buffer): void | Promise<void> {}
  onClose(_connection: Connection, _code: number, _reason: string): void | Promise<void> {}
  /** Called after an error in a connection's handling; the server has logged it already (agent.error). */
  onError(_connection: Connection, _error: unknown): void | Promise<void> {}
  /**
   * Whether this connection gets the agents protocol's frames (identity on
   * connect, every state change). Answer false for a socket handed to
   * another library (a phone call's media stream), which would not expect them.
   */
  shouldSendProtocolMessages(_connection: Connection, _ctx: ConnectionContext): boolean {
    return true;
  }
  /** Decide per connection whether it may change state (by frame or by mutating RPC). */
  shouldConnectionBeReadonly(_connection: Connection, _ctx: ConnectionContext): boolean {
    return false;
  }

  /** Send a message to every connection, except those listed. */
  broadcast(message: string | object, without: string[] = []): void {
    for (const c of this[internals].connections()) if (!without.includes(c.id)) c.send(message);
  }

  getConnections(): Connection[] {
    return this[internals].connections();
  }

  /** Run `method(payload)` later: in `when` seconds, at a Date, or on a cron schedule ("*\/5 * * * *"). */
  schedule<T = unknown>(when: ScheduleWhen, method: keyof this & string, payload?: T): Schedule<T> {
    return this[internals].scheduler.schedule(when, method, payload);
  }

  /** Run `method(payload)` every `seconds`; runs never overlap. The same method and payload is not scheduled twice. */
  scheduleEvery<T = unknown>(seconds: number, method: keyof this & string, payload?: T): Schedule<T> {
    return this[internals].scheduler.every(seconds, method, payload);
  }

  getSchedules(): Schedule[] {
    return this[internals].scheduler.list();
  }

  getSchedule(id: string): Schedule | undefined {
    return this[internals].scheduler.get(id);
  }

  cancelSchedule(id: string): boolean {
    return this[internals].scheduler.cancel(id);
  }

  /**
   * The agent's own computer: a sandbox named after the agent, created on
   * first use, with the same API as `burrow/client`. While the agent awaits a
   * call on it, the agent counts as busy and is not evicted.
   */
  sandbox(): Sandbox {
    return this[internals].sandbox();
  }

  /** Remove this agent's storage and schedules, and close its connections. */
  async destroy(): Promise<void> {
    await this[internals].destroy();
  }
}
