import { z } from "zod";

/** `host`, `host:port`, `*.domain`, an IP address or a CIDR block. */
const HostRule = z
  .string()
  .min(1)
  .max(260)
  .regex(/^(\*\.)?[A-Za-z0-9._:\-\[\]/]+$/, { message: "a host rule is a name, host:port, *.domain, an IP or a CIDR" });

const HandlerName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { message: "a handler name is letters, digits, - and _" });

export const EgressPolicyBody = z
  .object({
    allowedHosts: z.array(HostRule).max(256).optional(),
    deniedHosts: z.array(HostRule).max(256).optional(),
    /** false: only what allowedHosts (or a handler) names is reachable. */
    internet: z.boolean().optional(),
    /** `"host[:port]": "<handler name>"`: requests to that host go through a handler from the server's --config. */
    byHost: z.record(HostRule, HandlerName).optional(),
    /** Concurrent outbound connections; more wait briefly, then are refused. */
    maxConnections: z.number().int().min(1).max(4096).optional(),
    /** Outbound bandwidth cap, both directions together; null for none. */
    bandwidthKBps: z.number().int().min(1).max(10_000_000).nullable().optional(),
  })
  .strict();
export type EgressPolicyBody = z.infer<typeof EgressPolicyBody>;

/** A sandbox's own egress settings, as stored. */
export type EgressSettings = EgressPolicyBody;

/** What a sandbox gets once server defaults and its own settings are combined. */
export const EgressPolicyInfo = z.object({
  allowedHosts: z.array(z.string()),
  deniedHosts: z.array(z.string()),
  internet: z.boolean(),
  byHost: z.record(z.string(), z.string()),
  maxConnections: z.number(),
  bandwidthKBps: z.number().nullable(),
  /** Handler names the server's configuration offers. */
  handlers: z.array(z.string()),
});
export type EgressPolicyInfo = z.infer<typeof EgressPolicyInfo>;

export const EgressAuditEvent = z.object({
  at: z.string(),
  host: z.string(),
  port: z.number(),
  method: z.string().nullable(),
  path: z.string().nullable(),
  decision: z.enum(["allowed", "denied"]),
  reason: z.string().nullable(),
  handler: z.string().nullable(),
  /** "tunnel" (CONNECT passed through), "intercept" (TLS terminated for a handler) or "http". */
  mode: z.enum(["tunnel", "intercept", "http"]),
  bytesOut: z.number(),
  bytesIn: z.number(),
  durationMs: z.number(),
  status: z.number().nullable(),
});
export type EgressAuditEvent = z.infer<typeof EgressAuditEvent>;
