import { z } from "zod";

/** What one sandbox used: CPU from its cgroup (active CPU only), memory now and at peak, its own disk, egress, time. */
export const SandboxUsage = z.object({
  id: z.string(),
  cpuSeconds: z.number(),
  memoryBytes: z.number(),
  memoryPeakBytes: z.number(),
  diskBytes: z.number(),
  egressBytesOut: z.number(),
  egressBytesIn: z.number(),
  runningSeconds: z.number(),
  sleepingSeconds: z.number(),
  since: z.string(),
});
export type SandboxUsage = z.infer<typeof SandboxUsage>;

const Instant = z
  .string()
  .max(40)
  .refine((s) => !Number.isNaN(Date.parse(s)), { message: "use an ISO 8601 time such as 2026-12-01T00:00:00Z" });

/** `GET /v1/usage?from=&to=`: a period in whole hours; defaults to the last 24 hours. */
export const UsageQuery = z
  .object({ from: Instant.optional(), to: Instant.optional() })
  .strict()
  .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), { message: "from must not be after to" });

export const PeriodUsage = z.object({
  from: z.string(),
  to: z.string(),
  sandboxes: z.array(
    z.object({ sandbox: z.string(), cpuSeconds: z.number(), runningSeconds: z.number(), egressBytesIn: z.number(), egressBytesOut: z.number(), memoryPeakBytes: z.number() }),
  ),
});
export type PeriodUsage = z.infer<typeof PeriodUsage>;
