import { channel } from "node:diagnostics_channel";

/**
 * What other domains publish. Subscribers (this domain) turn events into
 * metrics, usage and log lines; with no subscriber a publish is a no-op.
 */
export interface SandboxStartEvent {
  id: string;
  /** cold: a new container; pool: a pre-started one was claimed; wake: a sleeping sandbox; restore: a new sandbox on a snapshot. */
  kind: "cold" | "pool" | "wake" | "restore";
  durationMs: number;
}
export interface SandboxLifecycleEvent {
  id: string;
  event: "create" | "wake" | "sleep" | "crash" | "destroy";
  detail?: string;
}
export interface ExecEvent {
  id: string;
  durationMs: number;
  exitCode: number | null;
}
export interface EgressEvent {
  sandbox: string;
  host: string;
  port: number;
  decision: "allow" | "deny";
  /** Why it was refused, or which handler answered (never a credential). */
  reason?: string;
  bytesIn: number;
  bytesOut: number;
}
export interface AgentRpcEvent {
  agent: string;
  method: string;
  durationMs: number;
  ok: boolean;
}
export interface AgentConnectionEvent {
  agent: string;
  /** +1 on connect, -1 on close. */
  delta: 1 | -1;
}

/** The other kinds of agent events Cloudflare's Agents SDK reports: a state update, a schedule run, an error. */
export interface AgentEvent {
  agent: string;
  name: string;
  event: "state" | "schedule" | "error";
  /** schedule: the callback; error: where it happened (connect, message, close, request, schedule, state). */
  detail?: string;
  /** schedule: whether the callback returned without throwing. */
  ok?: boolean;
  durationMs?: number;
  /** error: the error's message. */
  error?: string;
}
/** An operational message (a cleanup that failed, a container removed at start): a log line with fields. */
export interface LogEvent {
  level: "info" | "warn" | "error";
  event: string;
  msg: string;
  [field: string]: unknown;
}

export const channels = {
  sandboxStart: channel("burrow:sandbox:start"),
  sandboxLifecycle: channel("burrow:sandbox:lifecycle"),
  exec: channel("burrow:exec"),
  egress: channel("burrow:egress"),
  agentRpc: channel("burrow:agent:rpc"),
  agentConnection: channel("burrow:agent:connection"),
  agentEvent: channel("burrow:agent:event"),
  log: channel("burrow:log"),
};

/** Publish only when someone listens, so building the message costs nothing otherwise. */
export function publish<T>(ch: { hasSubscribers: boolean; publish(m: unknown): void }, make: () => T): void {
  if (ch.hasSubscribers) ch.publish(make());
}

/**
 * Say something an operator should see: a structured log line when the
 * server's logger listens (JSON on stderr), stderr text otherwise (a domain
 * used on its own, in a test or a script).
 */
export function report(level: LogEvent["level"], event: string, msg: string, fields: Record<string, unknown> = {}): void {
  if (channels.log.hasSubscribers) channels.log.publish({ ...fields, level, event, msg } satisfies LogEvent);
  else console.error(`burrow: ${msg}`);
}

/** An error's message for a log field. */
export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
