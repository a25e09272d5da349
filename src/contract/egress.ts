import { z } from "zod";

/** A rule with a "/" is a CIDR block; its prefix must fit its address family (no Node's net here: the SDK shares this file). */
function cidrIsValid(rule: string): boolean {
  if (!rule.includes("/")) return true;
  const m = /^([0-9A-Fa-f.:]+)\/(\d{1,3})$/.exec(rule);
  if (!m) return false;
  const v6 = m[1]!.includes(":");
  if (!v6 && !/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(m[1]!)) return false;
  return Number(m[2]) <= (v6 ? 128 : 32);
}

/** `host`, `host:port`, `*.domain`, an IP address or a CIDR block. */
const HostRule = z
  .string()
  .min(1)
  .max(260)
  .regex(/^(\*\.)?[A-Za-z0-9._:\-\[\]/]+$/, { message: "a host rule is a name, host:port, *.domain, an IP or a CIDR" })
  .refine(cidrIsValid, { message: "a CIDR is an IPv4 address with /0-/32 or an IPv6 address with /0-/128" });

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
  /** The sandbox's own settings as PUT or PATCH left them (the rest above comes from the server's), so an editor changes only these. */
  own: EgressPolicyBody,
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
  /** The upstream proxy the connection went through (its URL without credentials), or null when dialled directly. */
  upstreamProxy: z.string().nullable(),
});
export type EgressAuditEvent = z.infer<typeof EgressAuditEvent>;

/** `GET .../egress/audit?limit=N`: the newest N events, 1 to 5000 (what the audit keeps per sandbox). */
export const AuditQuery = z.object({
  limit: z
    .string()
    .regex(/^[1-9]\d{0,3}$/, { message: "limit is a whole number from 1 to 5000" })
    .transform(Number)
    .refine((n) => n <= 5000, { message: "limit is a whole number from 1 to 5000" })
    .optional(),
});
