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
}

/** Method + path-pattern routing (`/v1/sandboxes/:id/exec`), nothing more. */
export class Router {
  private readonly routes: Route[] = [];

  on(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, parts: pattern.split("/").filter(Boolean), handler });
    return this;
  }

  /** Every route as `METHOD /pattern`, for docs checks. */
  list(): string[] {
    return this.routes.map((r) => `${r.method} /${r.parts.join("/")}`);
  }

  match(method: string, pathname: string): { handler: Handler; params: Record<string, string> } {
    const segs = pathname.split("/").filter(Boolean);
    let pathMatched = false;
    for (const r of this.routes) {
      if (r.parts.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segs.length && ok; i++) {
        const p = r.parts[i]!;
        if (p.startsWith(":")) {
          try {
            params[p.slice(1)] = decodeURIComponent(segs[i]!);
          } catch {
            ok = false;
          }
        } else ok = p === segs[i];
      }
      if (!ok) continue;
      pathMatched = true;
      if (r.method === method) return { handler: r.handler, params };
    }
    if (pathMatched) throw new BurrowError("METHOD_NOT_ALLOWED", `${method} is not allowed on ${pathname}`);
    throw new BurrowError("NOT_FOUND", `no route ${method} ${pathname}; see docs/openapi.yaml`);
  }
}
