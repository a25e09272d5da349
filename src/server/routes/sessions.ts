import { CreateSessionBody, SessionId, SetEnvBody, BurrowError } from "../../contract/index.js";
import { readJson } from "../../lib/http-json.js";
import type { SandboxManager } from "../../sandboxes/index.js";
import type { Router, Ctx } from "../router.js";
import { relay, sandboxIdOf } from "./common.js";

function sessionIdOf(ctx: Ctx): string {
  const r = SessionId.safeParse(ctx.params.sid);
  if (!r.success) throw new BurrowError("VALIDATION_FAILED", `session id: ${r.error.issues[0]!.message}`);
  return r.data;
}

/** Persistent shells: create, list, delete, and set their variables. */
export function sessionRoutes(r: Router, sandboxes: SandboxManager): void {
  r.on("POST", "/v1/sandboxes/:id/sessions", async (ctx) => {
    const id = sandboxIdOf(ctx);
    const body = await readJson(ctx.req, CreateSessionBody);
    await relay(await (await sandboxes.runtime(id)).send("POST", "/sessions", body), ctx.res);
  });
  r.on("GET", "/v1/sandboxes/:id/sessions", async (ctx) => {
    await relay(await (await sandboxes.runtime(sandboxIdOf(ctx))).send("GET", "/sessions"), ctx.res);
  });
  r.on("DELETE", "/v1/sandboxes/:id/sessions/:sid", async (ctx) => {
    const sid = sessionIdOf(ctx);
    await relay(await (await sandboxes.runtime(sandboxIdOf(ctx))).send("DELETE", `/sessions/${sid}`), ctx.res);
  });
  r.on("POST", "/v1/sandboxes/:id/sessions/:sid/env", async (ctx) => {
    const sid = sessionIdOf(ctx);
    const body = await readJson(ctx.req, SetEnvBody);
    await relay(await (await sandboxes.runtime(sandboxIdOf(ctx))).send("POST", `/sessions/${sid}/env`, body), ctx.res);
  });
}
