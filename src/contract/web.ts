import { z } from "zod";

/** `POST /v1/sandboxes/:id/terminal-links`: how long the link works (10 s to 1 h, default 5 min). */
export const TerminalLinkBody = z
  .object({ ttlSeconds: z.number().int().min(10, { message: "ttlSeconds is at least 10" }).max(3600, { message: "ttlSeconds is at most 3600 (1 hour)" }).optional() })
  .strict();
export type TerminalLinkBody = z.infer<typeof TerminalLinkBody>;
