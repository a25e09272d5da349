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
  decision: "allow" | "deny";
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

export const channels = {
  sandboxStart: channel("burrow:sandbox:start"),
  sandboxLifecycle: channel("burrow:sandbox:lifecycle"),
  exec: channel("burrow:exec"),
  egress: channel("burrow:egress"),
  agentRpc: channel("burrow:agent:rpc"),
  agentConnection: channel("burrow:agent:connection"),
};

/** Publish only when someone listens, so building the message costs nothing otherwise. */
export function publish<T>(ch: { hasSubscribers: boolean; publish(m: unknown): void }, make: () => T): void {
  if (ch.hasSubscribers) ch.publish(make());
}
