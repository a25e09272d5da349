import type { IncomingMessage, ServerResponse } from "node:http";
import { BurrowError } from "../contract/index.js";

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: Record<string, string>;
}

export type Handler = (ctx: Ctx) => Promise<void> | void;

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
  /** The last parameter takes every remaining segment, joined with "/" (a file path after the route). */
  rest?: boolean;
}

/**
 * The segments of a raw request path (`req.url` before `?`), refusing what a
 * normaliser would rewrite into another route: `.`/`..` (also as `%2e`),
 * empty segments (`//`) and encoded `/` or `\`. Matching the path as sent,
 * never a normalised one, is what keeps `/v1/sandboxes/%2e/files` from
 * reaching the sandbox named `files`. One trailing slash is tolerated.
 */
export function pathSegments(rawPath: string): string[] {
  const segs = rawPath.split("/").slice(1);
  if (segs.length > 1 && segs[segs.length - 1] === "") segs.pop();
  for (const s of segs) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(s);
    } catch {
      throw new BurrowError("BAD_REQUEST", `the URL path segment ${JSON.stringify(s.slice(0, 100))} is not valid percent-encoding`);
    }
    if (decoded === "" || decoded === "." || decoded === "..")
      throw new BurrowError("BAD_REQUEST", `the URL path has an empty, "." or ".." segment; send the path without them (ids are never "." or "..")`);
    if (/[/\\\0]/.test(decoded))
      throw new BurrowError("BAD_REQUEST", `the URL path segment ${JSON.stringify(s.slice(0, 100))} holds an encoded "/", "\\" or NUL, which no id or name may contain`);
  }
  return segs;
}

/** Method + path-pattern routing (`/v1/sandboxes/:id/exec`), nothing more. */
export class Router {
  private readonly routes: Route[] = [];

  on(method: string, pattern: string, handler: Handler, opts: { rest?: boolean } = {}): this {
    this.routes.push({ method, parts: pattern.split("/").filter(Boolean), handler, rest: opts.rest });
    return this;
  }

  /** Every route as `METHOD /pattern`, for docs checks. */
  list(): string[] {
    return this.routes.map((r) => `${r.method} /${r.parts.join("/")}`);
  }

  /** Route a raw path (as sent, not normalised; see pathSegments). */
  match(method: string, rawPath: string): { handler: Handler; params: Record<string, string>; pattern: string } {
    const segs = pathSegments(rawPath);
    const shown = rawPath.length > 200 ? `${rawPath.slice(0, 200)}...` : rawPath;
    let pathMatched = false;
    for (const r of this.routes) {
      if (r.rest ? segs.length < r.parts.length : r.parts.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < r.parts.length && ok; i++) {
        const p = r.parts[i]!;
        const last = r.rest && i === r.parts.length - 1;
        if (p.startsWith(":")) params[p.slice(1)] = last ? segs.slice(i).map(decodeURIComponent).join("/") : decodeURIComponent(segs[i]!);
        else ok = !last && p === segs[i];
      }
      if (!ok) continue;
      pathMatched = true;
      if (r.method === method) return { handler: r.handler, params, pattern: `/${r.parts.join("/")}` };
    }
    if (pathMatched) throw new BurrowError("METHOD_NOT_ALLOWED", `${method} is not allowed on ${shown}`);
    throw new BurrowError("NOT_FOUND", `no route ${method} ${shown}; see docs/openapi.yaml`);
  }
}
