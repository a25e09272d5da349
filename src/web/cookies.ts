import type { IncomingMessage } from "node:http";

/** One cookie's value from the request, or undefined. */
export function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other
 * site's page sends it), host-only (no Domain, so preview hosts like
 * `3000-x-tok.localhost` never receive it), for the whole server.
 */
export function sessionCookie(name: string, id: string, maxAgeS: number, secure: boolean): string {
  return `${name}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure ? "; Secure" : ""}`;
}

export function clearedCookie(name: string): string {
  return `${name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
}

/**
 * Cookies are not separated by port, so two servers on one host would
 * overwrite each other's session: the name carries the port.
 */
export const cookieName = (port: number) => `burrow_session_${port}`;

/**
 * A Cookie header without any Burrow session cookie: what a preview request
 * may pass on to a sandbox. Browsers do not send the host-only cookie to
 * preview hosts anyway; this holds even if a client does.
 */
export function withoutSessionCookies(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join("; ") : header;
  const kept = text.split(";").filter((p) => !p.split("=")[0]!.trim().startsWith("burrow_session_"));
  return kept.length ? kept.join(";").trim() : undefined;
}
