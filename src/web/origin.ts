import type { IncomingMessage } from "node:http";
import { timingSafeEqual } from "node:crypto";
import { BurrowError } from "../contract/index.js";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The origins this server is reached at, from the Host header the browser sent. */
function ownOrigins(req: IncomingMessage): string[] {
  const host = req.headers.host ?? "";
  return [`http://${host}`, `https://${host}`];
}

/**
 * The browser-side checks for a request that a session cookie authenticates
 * (bearer requests are programs and skip them):
 * - an `Origin` other than the server's own is refused for every method (a
 *   preview page, `*.localhost`, is another origin, and so is any other site);
 * - `Sec-Fetch-Site` other than same-origin or none (typed address) is refused;
 * - a state-changing request or a WebSocket upgrade must carry `Origin`
 *   (browsers always send it there), and a state-changing request must carry
 *   the session's CSRF token in `x-burrow-csrf`, which only a page of this
 *   origin can read (it is in the page, never in a cookie).
 */
export function cookieRequestRefusal(req: IncomingMessage, csrf: string, kind: "request" | "upgrade"): BurrowError | undefined {
  const origin = req.headers.origin;
  const own = ownOrigins(req);
  if (origin !== undefined && !own.includes(origin))
    return new BurrowError("ORIGIN_REFUSED", `a request signed in by the session cookie must come from a page of this server (${own[0]}), not from ${origin.slice(0, 200)}; programs send Authorization: Bearer <token> instead`);
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none")
    return new BurrowError("ORIGIN_REFUSED", `a request signed in by the session cookie must come from this server's own pages (Sec-Fetch-Site was ${String(site).slice(0, 40)})`);
  const mutating = kind === "upgrade" || !SAFE_METHODS.has(req.method ?? "GET");
  if (mutating && origin === undefined)
    return new BurrowError("ORIGIN_REFUSED", "a state-changing request or WebSocket signed in by the session cookie must carry an Origin header");
  if (kind === "request" && mutating && !sameSecret(req.headers["x-burrow-csrf"], csrf))
    return new BurrowError("CSRF_TOKEN_INVALID", "a state-changing request signed in by the session cookie needs the page's CSRF token in x-burrow-csrf; reload the dashboard to get a fresh one");
  return undefined;
}

/** For sign-in and sign-out forms: a browser that says where the form came from must say this server. */
export function formOriginRefusal(req: IncomingMessage): BurrowError | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined && !ownOrigins(req).includes(origin))
    return new BurrowError("ORIGIN_REFUSED", `this form must be sent from a page of this server, not from ${origin.slice(0, 200)}`);
  return undefined;
}

function sameSecret(given: string | string[] | undefined, want: string): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(given);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}
