import { BurrowError, type ErrorCode } from "../contract/index.js";

/** The Connect protocol's error codes (https://connectrpc.com/docs/protocol#error-codes) and their HTTP statuses. */
export const CONNECT_STATUS = {
  canceled: 499,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  resource_exhausted: 429,
  failed_precondition: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  unauthenticated: 401,
} as const;
export type ConnectCode = keyof typeof CONNECT_STATUS;

/**
 * Burrow's error codes as the E2B SDK expects to see them: the HTTP status of
 * a REST or envd HTTP answer (which the SDK turns into NotFoundError,
 * InvalidArgumentError, AuthenticationError, TimeoutError...) and the
 * Connect code of an envd RPC answer. Anything not listed is a 500 / internal.
 */
const TABLE: Partial<Record<ErrorCode, { http: number; connect: ConnectCode }>> = {
  BAD_REQUEST: { http: 400, connect: "invalid_argument" },
  INVALID_JSON: { http: 400, connect: "invalid_argument" },
  VALIDATION_FAILED: { http: 400, connect: "invalid_argument" },
  INVALID_SANDBOX_ID: { http: 400, connect: "invalid_argument" },
  INVALID_PATH: { http: 400, connect: "invalid_argument" },
  IMAGE_NOT_FOUND: { http: 400, connect: "invalid_argument" },
  LIMIT_NOT_SUPPORTED: { http: 400, connect: "invalid_argument" },
  NOT_A_FILE: { http: 400, connect: "invalid_argument" },
  UNAUTHORIZED: { http: 401, connect: "unauthenticated" },
  PERMISSION_DENIED: { http: 403, connect: "permission_denied" },
  EGRESS_DENIED: { http: 403, connect: "permission_denied" },
  NOT_FOUND: { http: 404, connect: "not_found" },
  SANDBOX_NOT_FOUND: { http: 404, connect: "not_found" },
  PROCESS_NOT_FOUND: { http: 404, connect: "not_found" },
  CONTEXT_NOT_FOUND: { http: 404, connect: "not_found" },
  FILE_NOT_FOUND: { http: 404, connect: "not_found" },
  METHOD_NOT_ALLOWED: { http: 405, connect: "unimplemented" },
  SANDBOX_EXISTS: { http: 409, connect: "already_exists" },
  FILE_EXISTS: { http: 409, connect: "already_exists" },
  PROCESS_EXISTS: { http: 409, connect: "already_exists" },
  // envd answers these with 400 for HTTP and invalid_argument for RPC ("path is a directory").
  IS_A_DIRECTORY: { http: 400, connect: "invalid_argument" },
  NOT_A_DIRECTORY: { http: 400, connect: "invalid_argument" },
  DIRECTORY_NOT_EMPTY: { http: 400, connect: "failed_precondition" },
  FILE_BUSY: { http: 409, connect: "failed_precondition" },
  PROCESS_EXITED: { http: 409, connect: "failed_precondition" },
  PAYLOAD_TOO_LARGE: { http: 413, connect: "resource_exhausted" },
  // envd's own answer when the disk is full.
  DISK_FULL: { http: 507, connect: "resource_exhausted" },
  EXEC_TIMEOUT: { http: 504, connect: "deadline_exceeded" },
  WAIT_TIMEOUT: { http: 504, connect: "deadline_exceeded" },
  // The SDK reads 502 as "the sandbox is not running" (TimeoutError), which is what these mean.
  RUNTIME_UNAVAILABLE: { http: 502, connect: "unavailable" },
  SANDBOX_START_FAILED: { http: 500, connect: "internal" },
  WATCH_FAILED: { http: 500, connect: "internal" },
};

export function e2bStatus(err: BurrowError): number {
  return TABLE[err.code]?.http ?? (err.status >= 400 && err.status < 500 ? err.status : 500);
}

export function connectCode(err: BurrowError): ConnectCode {
  return TABLE[err.code]?.connect ?? (err.status === 404 ? "not_found" : err.status >= 400 && err.status < 500 ? "invalid_argument" : "internal");
}

/** Any thrown value as a BurrowError (unknown ones are INTERNAL, logged by the caller). */
export function asBurrowError(err: unknown): BurrowError {
  if (err instanceof BurrowError) return err;
  return new BurrowError("INTERNAL", err instanceof Error ? err.message : String(err));
}

/** An error that carries a Connect code of its own (for cases no Burrow code describes, like an unimplemented RPC). */
export class ConnectError extends Error {
  constructor(
    readonly code: ConnectCode,
    message: string,
  ) {
    super(message);
  }
}
