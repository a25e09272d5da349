import { z } from "zod";
import { readJson, sendJson } from "../../lib/http-json.js";
import type { ExposedPort, SandboxManager } from "../../sandboxes/index.js";
import type { PreviewProxy } from "../preview.js";
import type { Router } from "../router.js";
import { sandboxIdOf } from "./common.js";
import { portOf } from "./processes.js";

const ExposeBody = z
  .object({
    name: z.string().min(1).max(64).optional(),
    // 57 = 63 (a DNS label) - "65535-": the token and the port share a label in long-id preview hosts.
    token: z.string().regex(/^[a-z0-9]{4,57}$/, { message: "a preview token is 4-57 lowercase letters or digits (it becomes part of a host name)" }).optional(),
  })
  .strict();

/** Preview URLs: expose, withdraw, list. */
export function portRoutes(r: Router, sandboxes: SandboxManager, preview: PreviewProxy, serverPort: () => number): void {
  const view = (p: ExposedPort) => ({ port: p.port, name: p.name, token: p.token, url: preview.url(p.sandboxId, p.port, p.token, serverPort()), createdAt: p.createdAt });
  r.on("POST", "/v1/sandboxes/:id/ports/:port", async (ctx) => {
    const id = sandboxIdOf(ctx);
    const port = portOf(ctx);
    const body = await readJson(ctx.req, ExposeBody);
    sendJson(ctx.res, 200, view(await sandboxes.ports.expose(id, port, body)));
  });
  r.on("DELETE", "/v1/sandboxes/:id/ports/:port", (ctx) => {
    const id = sandboxIdOf(ctx);
    const port = portOf(ctx);
    sendJson(ctx.res, 200, { port, unexposed: sandboxes.ports.unexpose(id, port) });
  });
  r.on("GET", "/v1/sandboxes/:id/ports", (ctx) => sendJson(ctx.res, 200, { ports: sandboxes.ports.list(sandboxIdOf(ctx)).map(view) }));
}
