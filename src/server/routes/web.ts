import { TerminalLinkBody } from "../../contract/index.js";
import { readJson, sendJson } from "../../lib/http-json.js";
import type { SandboxManager } from "../../sandboxes/index.js";
import { LINK_TTL, SandboxFeed, type WebConsole } from "../../web/index.js";
import type { Router } from "../router.js";
import { SseStream } from "../sse.js";
import { sandboxIdOf } from "./common.js";
import { channels } from "../../observability/channels.js";

/** What pages need from the API: the sandbox change feed and terminal links for other origins (the agents' part is in agents.ts). */
export function webRoutes(r: Router, sandboxes: SandboxManager, web: () => WebConsole | undefined): void {
  let feed: SandboxFeed | undefined;
  // SSE: `sandboxes {sandboxes}` (the whole list) first, then `changed {sandbox}` and `removed {id}` as they happen.
  r.on("GET", "/v1/sandbox-events", (ctx) => {
    feed ??= new SandboxFeed(() => sandboxes.list(), 250, channels.sandboxLifecycle);
    const sse = new SseStream(ctx.res);
    const sub = feed.subscribe((e) => (e.type === "changed" ? sse.send("changed", { sandbox: e.sandbox }) : sse.send("removed", { id: e.id })));
    sse.send("sandboxes", { sandboxes: sub.current });
    ctx.res.on("close", () => sub.stop());
  });
  r.on("POST", "/v1/sandboxes/:id/terminal-links", async (ctx) => {
    const id = sandboxIdOf(ctx);
    const body = await readJson(ctx.req, TerminalLinkBody);
    sandboxes.get(id); // SANDBOX_NOT_FOUND for a name that does not exist
    const { secret, expiresAt } = web()!.links.mint(id, body.ttlSeconds ?? LINK_TTL.default);
    const scheme = (ctx.req.socket as { encrypted?: boolean }).encrypted ? "wss" : "ws";
    const url = `${scheme}://${ctx.req.headers.host}/v1/sandboxes/${id}/terminal?link=${secret}`;
    sendJson(ctx.res, 201, { url, expiresAt });
  });
}
