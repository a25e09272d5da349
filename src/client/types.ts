/** Option and result shapes of the SDK that are not request bodies (those are in the contract). */
export type CodeLanguage = "python" | "javascript" | "typescript";

/** A streamed code run's events. */
export type CodeEvent =
  | { type: "stdout" | "stderr"; data: string }
  | { type: "result"; data: Record<string, unknown>; isMainResult?: boolean }
  | { type: "error"; name: string; message: string; traceback: string }
  | { type: "complete"; executionCount: number; crashed?: boolean; restarted?: boolean; timedOut?: boolean };

export interface ExecOptions {
  cwd?: string;
  env?: Record<string, string | null>;
  stdin?: string;
  timeoutMs?: number;
  /** Stream output as it arrives to `onOutput` (the result is still returned at the end). */
  stream?: boolean;
  onOutput?: (stream: "stdout" | "stderr", data: string) => void;
  signal?: AbortSignal;
}

export type Command = string | string[];

export interface ExposedPortInfo {
  port: number;
  url: string;
  token: string;
  name?: string;
  createdAt: string;
}

export interface ReadFileResult {
  path: string;
  content: string;
  encoding: "utf-8" | "base64";
  mimeType: string;
  size: number;
}
