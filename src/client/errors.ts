import { type ErrorBody, SandboxId } from "../contract/index.js";

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

/** Refuse a sandbox name the server would refuse, before anything is sent (fetch would resolve "." or ".." to another route). */
export function checkSandboxId(id: string): void {
  const r = SandboxId.safeParse(id);
  if (!r.success) throw new BurrowApiError(400, { code: "INVALID_SANDBOX_ID", message: `${JSON.stringify(id)}: ${r.error.issues[0]!.message}` });
}
