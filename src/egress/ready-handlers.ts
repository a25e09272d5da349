import { AwsClient } from "aws4fetch";
import type { EgressHandler } from "./handlers.js";

/** The same request with some headers replaced (a body stream is passed on, not read). */
function withHeaders(request: Request, change: (h: Headers) => void): Request {
  const headers = new Headers(request.headers);
  change(headers);
  return new Request(request, { headers, ...(request.body ? { duplex: "half" } : {}) } as RequestInit);
}

/** Adds `Authorization: Bearer <token>` (whatever the sandbox sent is dropped). */
export function bearerToken(opts: { token: string | (() => string) }): EgressHandler {
  return (request, ctx) =>
    ctx.fetch(withHeaders(request, (h) => h.set("authorization", `Bearer ${typeof opts.token === "function" ? opts.token() : opts.token}`)));
}

/**
 * Git over HTTPS with a token: as basic auth (`username`, default
 * `x-access-token`, which GitHub and Gitea accept), or as a bearer header
 * with `as: "bearer"`. Git inside the sandbox needs no credentials at all.
 */
export function gitCredentials(opts: { token: string; username?: string; as?: "basic" | "bearer" }): EgressHandler {
  const value =
    opts.as === "bearer"
      ? `Bearer ${opts.token}`
      : `Basic ${Buffer.from(`${opts.username ?? "x-access-token"}:${opts.token}`).toString("base64")}`;
  return (request, ctx) => ctx.fetch(withHeaders(request, (h) => h.set("authorization", value)));
}

/**
 * Re-signs S3 (or any SigV4) requests with real keys, so code in the sandbox
 * can use an ordinary S3 client configured with dummy keys. The payload hash
 * the client computed is kept (so bodies stream); the signature is replaced.
 */
export function s3Resign(opts: { accessKeyId: string; secretAccessKey: string; region?: string; service?: string; sessionToken?: string }): EgressHandler {
  const aws = new AwsClient({
    accessKeyId: opts.accessKeyId,
    secretAccessKey: opts.secretAccessKey,
    sessionToken: opts.sessionToken,
    region: opts.region ?? "us-east-1",
    service: opts.service ?? "s3",
  });
  return async (request, ctx) => {
    const unsigned = withHeaders(request, (h) => {
      for (const k of ["authorization", "x-amz-date", "x-amz-security-token"]) h.delete(k);
    });
    // The body is handed over explicitly: aws4fetch only carries a Request's body along when it has a Content-Type.
    const signed = await aws.sign(unsigned.url, { method: unsigned.method, headers: unsigned.headers, body: unsigned.body, duplex: "half" } as RequestInit);
    return ctx.fetch(signed);
  };
}
