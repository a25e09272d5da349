import { KillQuery, LogsQuery, PortNumber, ProcessId, ReadyQuery, StartProcessBody, BurrowError } from "../../contract/index.js";
import { readJson } from "../../lib/http-json.js";
import { RESERVED_PORTS, type SandboxManager } from "../../sandboxes/index.js";
import type { Ctx, Router } from "../router.js";
import { parseQuery, qs, relay, sandboxIdOf, sseFromRuntime } from "./common.js";

function processIdOf(ctx: Ctx): string {
  const r = ProcessId.safeParse(ctx.params.pid);
  if (!r.success) throw new BurrowError("VALIDATION_FAILED", `process id: ${r.error.issues[0]!.message}`);
  return r.data;
}

export function portOf(ctx: Ctx): number {
  const r = PortNumber.safeParse(ctx.params.port);
  if (!r.success) throw new BurrowError("VALIDATION_FAILED", `port ${ctx.params.port} is not a port number (1-65535)`);
  return r.data;
}

/** Background processes: start, list, inspect, logs (SSE when followed), kill; and port readiness. */
export function processRoutes(r: Router, sandboxes: SandboxManager): void {
  const base = "/v1/sandboxes/:id/processes";
  const forward = (method: string, path: (ctx: Ctx) => string, body?: (ctx: Ctx) => Promise<unknown>) => async (ctx: Ctx) => {
    const b = body ? await body(ctx) : undefined;
    const rt = await sandboxes.runtime(sandboxIdOf(ctx));
    await relay(await rt.send(method, path(ctx), b), ctx.res);
  };
  r.on("POST", base, forward("POST", () => "/processes", (ctx) => readJson(ctx.req, StartProcessBody)));
  r.on("GET", base, forward("GET", () => "/processes"));
  r.on("DELETE", base, forward("DELETE", (ctx) => `/processes?${qs(parseQuery(ctx, KillQuery))}`));
  r.on("GET", `${base}/:pid`, forward("GET", (ctx) => `/processes/${processIdOf(ctx)}`));
  r.on("DELETE", `${base}/:pid`, forward("DELETE", (ctx) => `/processes/${processIdOf(ctx)}?${qs(parseQuery(ctx, KillQuery))}`));
  r.on("GET", `${base}/:pid/logs`, async (ctx) => {
    const pid = processIdOf(ctx);
    const q = parseQuery(ctx, LogsQuery);
    const follow = q.follow === "true" || q.follow === "1" || (ctx.req.headers.accept ?? "").includes("text/event-stream");
    if (!follow) return forward("GET", () => `/processes/${pid}/logs`)(ctx);
    const id = sandboxIdOf(ctx);
    await sseFromRuntime(ctx, sandboxes, id, (rt) => rt.send("GET", `/processes/${pid}/logs?${qs({ follow: "1", since: q.since })}`), ["exit", "error"]);
  });
  r.on("GET", "/v1/sandboxes/:id/ports/:port/ready", async (ctx) => {
    const port = portOf(ctx);
    // The egress bridge always listens there: "ready" would say nothing about the caller's own service.
    if (RESERVED_PORTS.has(port)) throw new BurrowError("PORT_RESERVED", `port ${port} is used by Burrow's runtime inside the sandbox; wait for your own service's port`, { port });
    const q = parseQuery(ctx, ReadyQuery);
    const id = sandboxIdOf(ctx);
    const release = sandboxes.hold(id);
    try {
      await forward("GET", () => `/ports/${port}/ready?${qs(q)}`)(ctx);
    } finally {
      release();
    }
  });
}
