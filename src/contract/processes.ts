import { z } from "zod";
import { AbsolutePath, SessionId } from "./exec.js";
import { EnvName } from "./sandbox.js";
import { CString } from "./text.js";

export const ProcessId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { message: "a process id is 1-64 letters, digits, dots, dashes or underscores" });

export const StartProcessBody = z
  .object({
    command: CString.min(1).max(1024 * 1024),
    cwd: AbsolutePath.optional(),
    env: z.record(EnvName, CString.max(128 * 1024).nullable()).optional(),
    processId: ProcessId.optional(),
    sessionId: SessionId.optional(),
  })
  .strict();
export type StartProcessBody = z.infer<typeof StartProcessBody>;

export const ProcessStatus = z.enum(["starting", "running", "completed", "failed", "killed"]);

export const ProcessInfo = z.object({
  id: z.string(),
  pid: z.number().optional(),
  command: z.string(),
  cwd: z.string(),
  status: ProcessStatus,
  exitCode: z.number().nullable(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  sessionId: z.string().nullable(),
});
export type ProcessInfo = z.infer<typeof ProcessInfo>;

/** Events of a followed process log: output with sequence numbers, then exit. */
export type ProcessLogEvent =
  | { type: "stdout" | "stderr"; seq: number; data: string }
  | { type: "dropped"; bytes: number; message: string }
  | { type: "exit"; exitCode: number; status: z.infer<typeof ProcessStatus> }
  | { type: "error"; code: string; message: string };

export const KillQuery = z.object({
  signal: z.string().regex(/^(SIG)?(TERM|KILL|INT|HUP|QUIT|USR1|USR2)$/i, { message: "signal is one of TERM, KILL, INT, HUP, QUIT, USR1, USR2" }).optional(),
});

export const LogsQuery = z.object({
  follow: z.enum(["true", "false", "1", "0"]).optional(),
  since: z.string().regex(/^\d+$/).optional(),
});

/** A port in a URL path: plain decimal digits only (no "1e3", "0x50" or "+80"). */
export const PortNumber = z
  .string()
  .regex(/^[1-9]\d{0,4}$/, { message: "a port is a decimal number 1-65535" })
  .transform(Number)
  .refine((n) => n <= 65535, { message: "a port is a decimal number 1-65535" });

export const ReadyQuery = z.object({
  mode: z.enum(["tcp", "http"]).optional(),
  path: z.string().startsWith("/").max(2048).optional(),
  status: z.string().regex(/^\d{3}(-\d{3})?$/, { message: "status is a code like 200 or a range like 200-399" }).optional(),
  timeoutMs: z.string().regex(/^\d+$/).refine((v) => Number(v) > 0 && Number(v) <= 600_000, { message: "timeoutMs is 1 to 600000" }).optional(),
});
