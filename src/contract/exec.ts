import { z } from "zod";
import { EnvMap, EnvName } from "./sandbox.js";
import { CString } from "./text.js";

const AbsolutePath = CString.min(1).max(4096).startsWith("/", { message: "paths inside a sandbox are absolute: start with /" });

/** A command as a shell string (run by `bash -c`) or as argv (run directly, no quoting). */
export const ExecBody = z
  .object({
    command: CString.min(1).max(1024 * 1024).optional(),
    argv: z.array(CString.max(128 * 1024)).min(1).max(4096).optional(),
    cwd: AbsolutePath.optional(),
    env: z.record(EnvName, CString.max(128 * 1024).nullable()).optional(),
    stdin: z.string().max(64 * 1024 * 1024).optional(),
    timeoutMs: z.number().int().positive().max(24 * 3600 * 1000).optional(),
    sessionId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { message: "a session id is 1-64 letters, digits, dots, dashes or underscores" }).optional(),
  })
  .strict()
  .refine((b) => (b.command === undefined) !== (b.argv === undefined), {
    message: "give exactly one of command (a shell string) or argv (an array of strings)",
  });
export type ExecBody = z.infer<typeof ExecBody>;

export const ExecResult = z.object({
  success: z.boolean(),
  exitCode: z.number(),
  stdout: z.string(),
  stderr: z.string(),
  durationMs: z.number(),
  timedOut: z.boolean().optional(),
  truncated: z.boolean().optional(),
  sessionExited: z.boolean().optional(),
});
export type ExecResult = z.infer<typeof ExecResult>;

/** Events of a streamed exec, in order: start, stdout/stderr..., then complete or error. */
export type ExecEvent =
  | { type: "start"; pid?: number; timestamp: string }
  | { type: "stdout"; data: string }
  | { type: "stderr"; data: string }
  | { type: "complete"; exitCode: number; durationMs: number; timedOut?: boolean; sessionExited?: boolean }
  | { type: "error"; code: string; message: string };

export const SessionId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, {
  message: "a session id is 1-64 letters, digits, dots, dashes or underscores",
});

export const CreateSessionBody = z
  .object({
    id: SessionId.optional(),
    cwd: AbsolutePath.optional(),
    env: EnvMap.optional(),
  })
  .strict();
export type CreateSessionBody = z.infer<typeof CreateSessionBody>;

/** Set (string) or unset (null) variables for a session's later commands. */
export const SetEnvBody = z.object({ env: z.record(EnvName, CString.max(128 * 1024).nullable()) }).strict();
export type SetEnvBody = z.infer<typeof SetEnvBody>;

export { AbsolutePath };

export const GitCheckoutBody = z
  .object({
    url: z.string().url({ message: "url is the http(s) URL of a git repository" }).max(4096),
    branch: z.string().regex(/^[A-Za-z0-9._\/][A-Za-z0-9._\/-]{0,254}$/, { message: "branch is a git ref name (letters, digits, . _ / -), not starting with -" }).optional(),
    targetDir: AbsolutePath.optional(),
    depth: z.number().int().min(1).max(1_000_000).optional(),
    timeoutMs: z.number().int().min(1000, { message: "timeoutMs is at least 1000 (a clone takes time)" }).max(3_600_000).optional(),
  })
  .strict();
export type GitCheckoutBody = z.infer<typeof GitCheckoutBody>;
