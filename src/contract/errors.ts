/**
 * Every error Burrow reports, with its HTTP status, in one table.
 * Server, runtime and client all map through this, so a code means the same
 * thing on every surface.
 */
export const ERRORS = {
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  VALIDATION_FAILED: 400,
  INVALID_SANDBOX_ID: 400,
  INVALID_PATH: 400,
  LIMIT_NOT_SUPPORTED: 400,
  CA_CERTS_INVALID: 400,
  IMAGE_NOT_FOUND: 400,
  UNAUTHORIZED: 401,
  TERMINAL_LINK_EXPIRED: 401,
  ORIGIN_REFUSED: 403,
  CSRF_TOKEN_INVALID: 403,
  EGRESS_DENIED: 403,
  EGRESS_HANDLER_NOT_FOUND: 400,
  NOT_FOUND: 404,
  SANDBOX_NOT_FOUND: 404,
  SESSION_NOT_FOUND: 404,
  PROCESS_NOT_FOUND: 404,
  CONTEXT_NOT_FOUND: 404,
  GIT_REPO_NOT_FOUND: 404,
  GIT_BRANCH_NOT_FOUND: 404,
  FILE_NOT_FOUND: 404,
  SNAPSHOT_NOT_FOUND: 404,
  BACKUP_NOT_FOUND: 404,
  AGENT_NOT_FOUND: 404,
  // Chat agents' WebSocket refusals (cf_agent_chat_error frames); the statuses are what they would be over HTTP.
  CHAT_BAD_FRAME: 400,
  CHAT_MESSAGE_TOO_LARGE: 413,
  CHAT_TOOL_CALL_NOT_FOUND: 404,
  CHAT_READONLY: 403,
  BACKUP_EXPIRED: 410,
  METHOD_NOT_ALLOWED: 405,
  SANDBOX_EXISTS: 409,
  SANDBOX_RUNNING: 409,
  SNAPSHOT_IN_USE: 409,
  ARCHIVE_CORRUPT: 422,
  MANIFEST_INVALID: 422,
  MANIFEST_UNTRUSTED: 422,
  BLOB_STORE_FAILED: 502,
  FILE_EXISTS: 409,
  IS_A_DIRECTORY: 409,
  NOT_A_FILE: 400,
  NOT_A_DIRECTORY: 409,
  DIRECTORY_NOT_EMPTY: 409,
  FILE_BUSY: 409,
  FILE_TIMEOUT: 504,
  /** A write past the sandbox's disk limit (limits.diskMB), or a full data volume. */
  DISK_FULL: 507,
  SESSION_BUSY: 409,
  PROCESS_EXISTS: 409,
  PROCESS_EXITED: 409,
  PAYLOAD_TOO_LARGE: 413,
  HEADERS_TOO_LARGE: 431,
  UPGRADE_REQUIRED: 426,
  PERMISSION_DENIED: 403,
  EXEC_TIMEOUT: 408,
  WAIT_TIMEOUT: 408,
  WATCH_FAILED: 500,
  PORT_RESERVED: 400,
  SANDBOX_START_FAILED: 500,
  RUNTIME_UNAVAILABLE: 502,
  NOT_SUPPORTED: 501,
  SANDBOX_CRASHED: 503,
  /** Every host uid range of the pool (--uid-ranges) is held by a sandbox. */
  UID_RANGES_EXHAUSTED: 503,
  /** A stream cut by a server stop; by default its sandbox keeps running (live restore). */
  SERVER_RESTARTING: 503,
  /** The server's agents module failed to load (the server exits; requests that waited for it get this). */
  AGENTS_UNAVAILABLE: 503,
  GIT_FAILED: 502,
  GIT_AUTH_FAILED: 502,
  UPSTREAM_UNAVAILABLE: 502,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERRORS;

export function statusFor(code: string): number {
  return (ERRORS as Record<string, number>)[code] ?? 500;
}

/** The JSON body of every error answer: `{code, message, ...details}`. */
export interface ErrorBody {
  code: ErrorCode | string;
  message: string;
  [detail: string]: unknown;
}

/** An error that knows its stable code; thrown by server and runtime alike. */
export class BurrowError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = "BurrowError";
    this.code = code;
    this.details = details;
  }
  get status(): number {
    return ERRORS[this.code];
  }
  toJSON(): ErrorBody {
    return { ...this.details, code: this.code, message: this.message };
  }
}
