import { AuditQuery, EgressPolicyBody } from "../../contract/index.js";
import { EgressPatchBody, type EgressSettings } from "../../contract/index.js";
import { readJson, sendJson } from "../../lib/http-json.js";
import { merging, replacing } from "../../egress/index.js";
import type { AuditLog, EgressProxy, EgressRules } from "../../egress/index.js";
import type { SandboxManager } from "../../sandboxes/index.js";
import type { Router } from "../router.js";
import { parseQuery, sandboxIdOf } from "./common.js";

/** A sandbox's egress rules (combined with the server's) and the audit of its outbound connections. */
export function egressRoutes(r: Router, sandboxes: SandboxManager, egress: { rules: EgressRules; proxy: EgressProxy; audit: AuditLog }): void {
  const apply = async (id: string, settings: EgressSettings) => {
    egress.rules.check(settings);
    await sandboxes.setEgress(id, settings);
    egress.rules.invalidate(id);
    egress.proxy.refresh(id);
    return egress.rules.info(id);
  };
  // PUT replaces the sandbox's whole policy: what the body leaves out is gone.
  r.on("PUT", "/v1/sandboxes/:id/egress", async (ctx) => {
    const id = sandboxIdOf(ctx);
    const body = await readJson(ctx.req, EgressPolicyBody);
    sendJson(ctx.res, 200, await apply(id, replacing(body)));
  });
  // PATCH changes only the fields given; byHost entries merge (null removes one).
  r.on("PATCH", "/v1/sandboxes/:id/egress", async (ctx) => {
    const id = sandboxIdOf(ctx);
    const body = await readJson(ctx.req, EgressPatchBody);
    sendJson(ctx.res, 200, await apply(id, merging(sandboxes.egressSettings(id) ?? {}, body)));
  });
  r.on("GET", "/v1/sandboxes/:id/egress", (ctx) => {
    const id = sandboxIdOf(ctx);
    sandboxes.get(id); // 404 for an unknown name
    sendJson(ctx.res, 200, egress.rules.info(id));
  });
  r.on("GET", "/v1/sandboxes/:id/egress/audit", (ctx) => {
    const id = sandboxIdOf(ctx);
    sandboxes.get(id);
    const { limit } = parseQuery(ctx, AuditQuery);
    sendJson(ctx.res, 200, { events: egress.audit.recent(id, limit ?? 200) });
  });
}
