import { z } from "zod";
import { EnvMap } from "./sandbox.js";
import { AbsolutePath } from "./exec.js";

export const CreateContextBody = z
  .object({
    language: z.enum(["python", "javascript", "typescript"]).optional(),
    cwd: AbsolutePath.optional(),
    env: EnvMap.optional(),
    /** Default time limit for this context's runs, in ms (a run's own timeoutMs wins). */
    timeout: z.number().int().positive().max(24 * 3600 * 1000).optional(),
  })
  .strict();

export const RunCodeBody = z
  .object({
    code: z.string().max(10 * 1024 * 1024),
    timeoutMs: z.number().int().positive().max(24 * 3600 * 1000).optional(),
  })
  .strict();

export const ContextId = z.string().regex(/^ctx-[0-9a-f]{10}$/, { message: "a context id looks like ctx-0123456789" });

/** One representation set of a result: whatever the object offers. */
export interface CodeResult {
  text?: string;
  html?: string;
  png?: string;
  jpeg?: string;
  svg?: string;
  json?: unknown;
  markdown?: string;
  latex?: string;
  isMainResult?: boolean;
  [mime: string]: unknown;
}

export interface Execution {
  results: CodeResult[];
  logs: { stdout: string; stderr: string };
  error?: { name: string; message: string; traceback: string };
  executionCount: number;
  crashed?: boolean;
  restarted?: boolean;
  timedOut?: boolean;
}

export interface CodeContextInfo {
  id: string;
  language: "python" | "javascript" | "typescript";
  cwd: string;
  createdAt: string;
  pooled?: boolean;
}
