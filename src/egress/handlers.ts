/** What a handler is told besides the request itself. */
export interface EgressContext {
  /** The sandbox the request comes from. */
  sandboxId: string;
  host: string;
  port: number;
  /** Reach the real upstream under the sandbox's policy (verifies TLS, resolves `host.burrow.internal`). */
  fetch: (input: Request | string | URL, init?: RequestInit) => Promise<Response>;
}

/**
 * Server-side code that sees (and may change) a sandbox's requests to a
 * host: typically it adds a credential and calls `ctx.fetch`. Handlers live in
 * the server's `--config` module; sandboxes only pick them by name.
 */
export type EgressHandler = (request: Request, ctx: EgressContext) => Promise<Response> | Response;

/** The `egress` part of a `--config` module's default export. */
export interface EgressConfig {
  handlers?: Record<string, EgressHandler>;
  /** Server-wide `"host[:port]": "<handler>"`, under each sandbox's own. */
  byHost?: Record<string, string>;
  /** A handler for every request that no byHost entry names (TLS is intercepted for all hosts then). */
  outbound?: string;
  allowedHosts?: string[];
  deniedHosts?: string[];
  internet?: boolean;
  maxConnections?: number;
  bandwidthKBps?: number | null;
}

/** Find the handler name for host:port in a `host[:port]` / `*.domain` keyed map. */
export function lookupHandler(map: Record<string, string>, host: string, port: number): string | undefined {
  const h = host.toLowerCase();
  const exact = map[`${h}:${port}`] ?? map[h];
  if (exact) return exact;
  for (const [key, name] of Object.entries(map)) {
    const m = /^\*(\.[^:]+)(?::(\d+))?$/.exec(key.toLowerCase());
    if (m && h.endsWith(m[1]!) && (!m[2] || Number(m[2]) === port)) return name;
  }
  return undefined;
}
