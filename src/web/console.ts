import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { join } from "node:path";
import { BurrowError, SandboxId } from "../contract/index.js";
import { Assets } from "./assets.js";
import { clearedCookie, cookieName, readCookie, sessionCookie } from "./cookies.js";
import { cookieRequestRefusal, formOriginRefusal } from "./origin.js";
import { sendApp, sendLogin } from "./pages.js";
import { SESSION_TTL_MS, SessionStore } from "./sessions.js";
import { TerminalLinks } from "./terminal-links.js";

export interface WebOptions {
  dataDir: string;
  token: string;
  /** The port the server listens on (known only once it is bound). */
  port: () => number;
}

/**
 * Paths the page itself answers (the app routes on the client): `/`, `/server`, `/snapshots`, `/agents`
 * (agents' own `/agents/<class>/<name>` are the agents host's, which answers first), `/sandboxes/<id>[/<tab>]`.
 */
const APP_PATH = /^\/(?:server|snapshots|agents|sandboxes\/([a-z0-9-]{1,63})(?:\/(?:terminal|files|processes|ports|snapshots|egress|code))?)?$/;

const UNSIGNED = "send Authorization: Bearer <token>, or sign in at /login in a browser; the token is printed at start and kept in <data>/token";

/**
 * Burrow in the browser: the sign-in link and form, sessions, the page and its
 * files, and the cookie side of authentication (with its Origin and CSRF
 * checks) for the API and terminal WebSockets.
 */
export class WebConsole {
  private readonly sessions: SessionStore;
  readonly links: TerminalLinks;
  private readonly assets = new Assets();

  constructor(private readonly opts: WebOptions) {
    this.sessions = new SessionStore(join(opts.dataDir, "burrow.db"), opts.token);
    this.links = new TerminalLinks(opts.token);
  }

  private get cookie(): string {
    return cookieName(this.opts.port());
  }

  /** Answer the page's own paths; false for anything else (the API, agents...). */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? "/", "http://burrow");
    const path = url.pathname;
    const method = req.method ?? "GET";
    const host = req.headers.host ?? "";
    const get = method === "GET" || method === "HEAD";
    if (path.startsWith("/assets/") && get) {
      if (this.assets.serve(path.slice(8), url.searchParams.get("v"), res)) return true;
      return false;
    }
    if (path === "/login" && get) {
      const token = url.searchParams.get("token");
      // HEAD (link previewers, prefetchers) never opens a session.
      if (token === null || method === "HEAD") sendLogin(res, host, this.assets, { next: safeNext(url.searchParams.get("next")) });
      else this.signIn(req, res, token, safeNext(url.searchParams.get("next")));
      return true;
    }
    if (path === "/login" && method === "POST") {
      void this.form(req, res, (form) => {
        const refused = formOriginRefusal(req);
        if (refused) return sendLogin(res, host, this.assets, { status: 403, message: refused.message });
        this.signIn(req, res, form.get("token") ?? "", safeNext(form.get("next")));
      });
      return true;
    }
    if (path === "/logout" && method === "POST") {
      void this.form(req, res, (form) => this.signOut(req, res, form.get("csrf") ?? ""));
      return true;
    }
    if (get && APP_PATH.test(path)) {
      const m = APP_PATH.exec(path)!;
      if (m[1] && !SandboxId.safeParse(m[1]).success) return false;
      const session = this.sessions.find(readCookie(req, this.cookie));
      if (session) sendApp(res, host, this.assets, session.csrf);
      else sendLogin(res, host, this.assets, { next: path });
      return true;
    }
    return false;
  }

  /**
   * Why an API request without a valid bearer token is refused, or undefined
   * when its session cookie lets it in. Then the answer is made inert as a
   * page: a sandbox's file opened in the browser (say an HTML file) renders in
   * a sandboxed, scriptless origin, never as the dashboard.
   */
  refusal(req: IncomingMessage, res?: ServerResponse): BurrowError | undefined {
    const id = readCookie(req, this.cookie);
    if (!id) return new BurrowError("UNAUTHORIZED", UNSIGNED);
    const session = this.sessions.find(id);
    if (!session) return new BurrowError("UNAUTHORIZED", `the browser session has ended (signed out, expired, or the server's token changed); sign in again at /login, or ${UNSIGNED}`);
    const refused = cookieRequestRefusal(req, session.csrf, "request");
    if (!refused && res) {
      res.setHeader("content-security-policy", "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'");
      res.setHeader("x-content-type-options", "nosniff");
    }
    return refused;
  }

  /** The same for a terminal WebSocket: a terminal link for this sandbox, or the session cookie from this origin. */
  upgradeRefusal(req: IncomingMessage, sandboxId: string): BurrowError | undefined {
    const link = new URL(req.url ?? "/", "http://burrow").searchParams.get("link");
    if (link !== null) {
      const verdict = this.links.check(sandboxId, link);
      if (verdict === "ok") return undefined;
      if (verdict === "expired") return new BurrowError("TERMINAL_LINK_EXPIRED", "this terminal link has expired; ask for a new one with POST /v1/sandboxes/:id/terminal-links");
      return new BurrowError("UNAUTHORIZED", "this terminal link is not valid for this sandbox (or the server's token changed)");
    }
    const id = readCookie(req, this.cookie);
    const session = id ? this.sessions.find(id) : undefined;
    if (!session) return new BurrowError("UNAUTHORIZED", UNSIGNED);
    return cookieRequestRefusal(req, session.csrf, "upgrade");
  }

  close(): void {
    this.sessions.shutdown();
  }

  private signIn(req: IncomingMessage, res: ServerResponse, given: string, next: string): void {
    const a = Buffer.from(given);
    const b = Buffer.from(this.opts.token);
    if (a.length !== b.length || !timingSafeEqual(a, b))
      return sendLogin(res, req.headers.host ?? "", this.assets, { status: 401, message: "That is not this server's token. Check <data>/token or the token printed at start.", next });
    const { id } = this.sessions.open();
    const secure = Boolean((req.socket as TLSSocket).encrypted);
    // 303 to a clean address: the token does not stay in the address bar (history still has the link).
    res.writeHead(303, { location: next, "set-cookie": sessionCookie(this.cookie, id, SESSION_TTL_MS / 1000, secure), "cache-control": "no-store", "referrer-policy": "no-referrer", "content-length": 0 });
    res.end();
  }

  private signOut(req: IncomingMessage, res: ServerResponse, csrf: string): void {
    const id = readCookie(req, this.cookie);
    const session = id ? this.sessions.find(id) : undefined;
    // Sign-out must come from our page too, or another site could sign a person out.
    const refused = formOriginRefusal(req) ?? (session && !sameText(session.csrf, csrf) ? new BurrowError("CSRF_TOKEN_INVALID", "sign out from the dashboard's own button") : undefined);
    if (refused) return sendLogin(res, req.headers.host ?? "", this.assets, { status: 403, message: refused.message });
    if (id) this.sessions.close(id);
    res.writeHead(303, { location: "/login", "set-cookie": clearedCookie(this.cookie), "cache-control": "no-store", "content-length": 0 });
    res.end();
  }

  /** A small urlencoded form body (at most 8 KiB). */
  private async form(req: IncomingMessage, res: ServerResponse, then: (form: URLSearchParams) => void): Promise<void> {
    let body = "";
    try {
      for await (const chunk of req) {
        body += chunk;
        if (body.length > 8192) throw new Error("too large");
      }
    } catch {
      res.writeHead(413, { "content-type": "text/plain" });
      return void res.end("form too large");
    }
    try {
      then(new URLSearchParams(body));
    } catch (err) {
      console.error("burrow: sign-in form failed:", err);
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end("sign-in failed; see the server's log");
    }
  }
}

/** Only a path on this server: `//evil.example` or `/\evil` would leave it. */
function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || /[\\\r\n\0]/.test(next) || next.length > 512) return "/";
  return next;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
