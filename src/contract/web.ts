import { z } from "zod";

/** `POST /v1/sandboxes/:id/terminal-links`: how long the link works (10 s to 1 h, default 5 min). */
export const TerminalLinkBody = z
  .object({ ttlSeconds: z.number().int().min(10, { message: "ttlSeconds is at least 10" }).max(3600, { message: "ttlSeconds is at most 3600 (1 hour)" }).optional() })
  .strict();
export type TerminalLinkBody = z.infer<typeof TerminalLinkBody>;

/** `GET /v1/agents/:class/instances?limit=N`: at most N instances (1 to 1000, default 200). */
export const AgentInstancesQuery = z.object({
  limit: z
    .string()
    .regex(/^[1-9]\d{0,3}$/, { message: "limit is a whole number from 1 to 1000" })
    .transform(Number)
    .refine((n) => n <= 1000, { message: "limit is a whole number from 1 to 1000" })
    .optional(),
});
