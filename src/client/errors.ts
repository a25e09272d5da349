import type { ErrorBody } from "../contract/index.js";

/** An error answer from the Burrow API, with its stable code. */
export class BurrowApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown>;

  constructor(status: number, body: ErrorBody) {
    super(body.message);
    this.name = "BurrowApiError";
    const { code, message: _m, ...details } = body;
    this.code = code;
    this.status = status;
    this.details = details;
  }
}
