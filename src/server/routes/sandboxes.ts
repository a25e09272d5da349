import { EnsureSandboxBody, SetEnvBody, SleepBody } from "../../contract/index.js";
import { readJson, sendJson } from "../../lib/http-json.js";
import type { SandboxManager } from "../../sandboxes/index.js";
import type { Router } from "../router.js";
import { sandboxIdOf } from "./common.js";

/** The registry: ensure, list, inspect, sleep, destroy, and sandbox-wide env. */
export function sandboxRoutes(r: Router, sandboxes: SandboxManager, fetchSnapshot: (sid: string) => Promise<unknown>, trustStatus: () => object = () => ({})): void {
  r.on("PUT", "/v1/sandboxes/:id", async (ctx) => {
    const id = sandboxIdOf(ctx);
    const body = await readJson(ctx.req, EnsureSandboxBody);
    // A snapshot this machine lacks is pulled from the blob store first.
    if (body.fromSnapshot && !sandboxes.has(id)) await fetchSnapshot(body.fromSnapshot);
    const { info, created, warning } = await sandboxes.ensure(id, body);
    sendJson(ctx.res, created ? 201 : 200, { ...info, created, ...(warning ? { warning } : {}) });
  });
  r.on("GET", "/v1/sandboxes", (ctx) => sendJson(ctx.res, 200, { sandboxes: sandboxes.list() }));
  r.on("GET", "/v1/status", (ctx) => {
    const all = sandboxes.list();
    // trustStatus: the extra CAs in force (subject, SHA-256 fingerprint, expiry), so an operator can see what sandboxes trust.
    sendJson(ctx.res, 200, { sandboxes: all.length, running: all.filter((s) => s.state === "running").length, pooled: sandboxes.pooled(), pools: sandboxes.pools(), diskLimits: sandboxes.diskLimits(), ...trustStatus() });
  });
  r.on("GET", "/v1/sandboxes/:id", (ctx) => sendJson(ctx.res, 200, sandboxes.get(sandboxIdOf(ctx))));
  r.on("POST", "/v1/sandboxes/:id/sleep", async (ctx) => {
    const id = sandboxIdOf(ctx);
    const body = await readJson(ctx.req, SleepBody);
    sendJson(ctx.res, 200, await sandboxes.sleep(id, body.persist));
  });
  r.on("DELETE", "/v1/sandboxes/:id", async (ctx) => {
    const id = sandboxIdOf(ctx);
    await sandboxes.destroy(id);
    sendJson(ctx.res, 200, { id, destroyed: true });
  });
  // Variables for every later command in the sandbox (null unsets); kept across sleep and restart.
  r.on("POST", "/v1/sandboxes/:id/env", async (ctx) => {
    const id = sandboxIdOf(ctx);
    const body = await readJson(ctx.req, SetEnvBody);
    sendJson(ctx.res, 200, await sandboxes.setEnv(id, body.env));
  });
}
