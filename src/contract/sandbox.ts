import { z } from "zod";
import { CString } from "./text.js";

/**
 * Sandbox names double as DNS labels in preview URLs, so they follow the same
 * rules: 1-63 of a-z, 0-9 and "-", not starting or ending with "-". So no id is
 * ".", "..", empty, or holds a slash, dot or NUL.
 */
export const SandboxId = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, {
    message: "a sandbox id is 1-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit",
  });

const MAX_DURATION_S = 30 * 24 * 3600;

/** `30`, `"30s"`, `"10m"`, `"2h"`: seconds as a number or a duration string; at most 30 days either way. */
export const Duration = z.union([
  z.number().int().positive().max(MAX_DURATION_S, { message: "a duration is at most 30 days (2592000 seconds)" }),
  z
    .string()
    .regex(/^\d{1,12}(ms|s|m|h)?$/, { message: "a duration is a number of seconds or a string like 30s, 10m, 2h" })
    // zod runs this check even when the pattern failed, so it tests the pattern itself first.
    .refine((d) => !/^\d{1,12}(ms|s|m|h)?$/.test(d) || (durationSeconds(d) >= 1 && durationSeconds(d) <= MAX_DURATION_S), { message: "a duration is 1 second to 30 days (720h)" }),
]);

export function durationSeconds(d: number | string): number {
  if (typeof d === "number") return d;
  const m = /^(\d+)(ms|s|m|h)?$/.exec(d)!;
  const n = Number(m[1]);
  switch (m[2]) {
    case "ms": return Math.max(1, Math.ceil(n / 1000));
    case "m": return n * 60;
    case "h": return n * 3600;
    default: return n;
  }
}

/** The smallest disk limit a sandbox may have, in MB. */
export const MIN_DISK_MB = 16;

export const Limits = z
  .object({
    memoryMB: z.number().int().min(32).max(65536).optional(),
    // The kernel's smallest CFS quota is 1 ms per 100 ms period: less is refused by runc at start.
    cpus: z.number().min(0.01, { message: "limits.cpus is at least 0.01 (1% of one CPU)" }).max(64).optional(),
    pids: z.number().int().min(16).max(65536).optional(),
    // Where the server enforces disk limits (GET /v1/status says); elsewhere refused with LIMIT_NOT_SUPPORTED.
    diskMB: z.number().int().min(MIN_DISK_MB, { message: `limits.diskMB is at least ${MIN_DISK_MB} (the runtime writes a little at each start)` }).max(16 * 1024 * 1024).optional(),
  })
  .strict();
export type Limits = z.infer<typeof Limits>;

export const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "environment variable names are letters, digits and underscores" });

export const EnvMap = z.record(EnvName, CString.max(128 * 1024));

export const Labels = z.record(z.string().max(63), z.string().max(256));

/** A sandbox's own extra CAs: a PEM bundle of CA certificates (checked by the server), or null to remove them. */
export const SandboxTrust = z
  .object({
    extraCaCerts: z.string().max(512 * 1024, { message: "trust.extraCaCerts is at most 512 KiB of PEM" }).nullable(),
  })
  .strict();
export type SandboxTrust = z.infer<typeof SandboxTrust>;

export const EnsureSandboxBody = z
  .object({
    image: z.string().min(1).max(128).optional(),
    /** Which version of the image: "latest" (the default for a new sandbox), or a version id; on a sleeping sandbox, a move onto it. */
    imageVersion: z.string().regex(/^(?:latest|legacy|[a-f0-9]{12})$/, { message: 'imageVersion is "latest" or a version id (12 hex digits) from burrow image ls' }).optional(),
    env: EnvMap.optional(),
    sleepAfter: Duration.optional(),
    keepAlive: z.boolean().optional(),
    limits: Limits.optional(),
    labels: Labels.optional(),
    /** Start from this snapshot's disk (restore or fork); only when the sandbox is created. */
    fromSnapshot: z.string().regex(/^snap-[a-f0-9]{12}$/, { message: "fromSnapshot is a snapshot id like snap-0123456789ab" }).optional(),
    /** What sleeping keeps: the disk as it is ("disk"), or the disk frozen into a snapshot ("snapshot"). */
    persist: z.enum(["disk", "snapshot"]).optional(),
    /** CAs this sandbox alone trusts, on top of the server's; kept on its disk (sleep, snapshots, forks). */
    trust: SandboxTrust.optional(),
  })
  .strict();
export type EnsureSandboxBody = z.infer<typeof EnsureSandboxBody>;

export const SandboxState = z.enum(["running", "sleeping", "crashed"]);

/** Why and when a sandbox last stopped without being asked (its container or runtime exited). */
export const SandboxCrash = z.object({
  at: z.string(),
  /** oom: the kernel killed the runtime at the memory limit; runtime-exited / runtime-killed: it exited or was signalled; init-killed: the container's init ended; unreachable: its socket stopped answering. */
  kind: z.enum(["oom", "runtime-exited", "runtime-killed", "init-killed", "unreachable"]),
  reason: z.string(),
  /** Crashes in a row, each within a minute of the start before it. */
  count: z.number(),
  /** From the second crash in a row: no restart before this time (backoff); null when the next request restarts it. */
  restartAfter: z.string().nullable(),
});
export type SandboxCrash = z.infer<typeof SandboxCrash>;

export const SandboxInfo = z.object({
  id: z.string(),
  state: SandboxState,
  image: z.string(),
  /** The image version it stands on, pinned when it was created or moved. */
  imageVersion: z.string(),
  createdAt: z.string(),
  lastActiveAt: z.string(),
  sleepAfter: z.number(),
  keepAlive: z.boolean(),
  // diskMB: the sandbox's disk limit, where the server enforces one (absent: none).
  limits: z.object({ memoryMB: z.number(), cpus: z.number(), pids: z.number(), diskMB: z.number().optional() }),
  labels: z.record(z.string(), z.string()),
  env: z.record(z.string(), z.string()),
  persist: z.enum(["disk", "snapshot"]),
  /** The snapshot this sandbox's disk stands on, if any. */
  baseSnapshot: z.string().nullable(),
  /** The last crash since the server started (null if none); state is "crashed" until the sandbox runs again. */
  crash: SandboxCrash.nullable().optional(),
  /** The sandbox's own extra CAs (not the server's, which GET /v1/status lists). */
  trust: z.object({ extraCaCerts: z.array(z.object({ subject: z.string(), sha256: z.string(), notAfter: z.string() })) }).optional(),
});
export type SandboxInfo = z.infer<typeof SandboxInfo>;
