import { UsageQuery } from "../../contract/index.js";
import { sendJson } from "../../lib/http-json.js";
import type { Observability } from "../../observability/index.js";
import type { SandboxManager } from "../../sandboxes/index.js";
import type { Router } from "../router.js";
import { parseQuery, sandboxIdOf } from "./common.js";

/** Metrics for Prometheus and usage for people and billing. */
export function usageRoutes(r: Router, sandboxes: SandboxManager, obs: Observability): void {
  r.on("GET", "/metrics", async (ctx) => {
    const { body, contentType } = await obs.metrics.text();
    ctx.res.writeHead(200, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
    ctx.res.end(body);
  });
  r.on("GET", "/v1/sandboxes/:id/usage", async (ctx) => {
    const info = sandboxes.get(sandboxIdOf(ctx));
    sendJson(ctx.res, 200, { id: info.id, ...(await obs.usage.usage(info.id, info.createdAt)) });
  });
  // One sample of every running sandbox, for a list that shows them all (a page's sandbox list, say).
  r.on("GET", "/v1/usage/running", (ctx) => sendJson(ctx.res, 200, { at: new Date().toISOString(), sandboxes: obs.usage.running() }));
  r.on("GET", "/v1/usage", (ctx) => {
    const q = parseQuery(ctx, UsageQuery);
    const to = q.to ? new Date(q.to) : new Date();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - 24 * 3600_000);
    sendJson(ctx.res, 200, { from: from.toISOString(), to: to.toISOString(), sandboxes: obs.usage.period(from, to) });
  });
}
