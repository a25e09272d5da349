import { ArchiveQuery, ArchiveWriteQuery } from "../../contract/index.js";
import type { SandboxManager } from "../../sandboxes/index.js";
import type { Router } from "../router.js";
import { parseQuery, parseQueryOf, qs, relayTransfer } from "./common.js";

/**
 * A directory as one tar stream, out (`GET`) and in (`PUT`, which replaces
 * the directory's contents whole or not at all). The runtime runs the
 * sandbox's own tar and checks every member; bytes stream through here.
 */
export function archiveRoutes(r: Router, sandboxes: SandboxManager): void {
  const base = "/v1/sandboxes/:id/archive";
  r.on("GET", base, async (ctx) => {
    // `exclude` may repeat, which the router's query object cannot hold.
    const params = new URL(ctx.req.url ?? "/", "http://burrow").searchParams;
    const q = parseQueryOf({ path: params.get("path") ?? undefined, exclude: params.getAll("exclude") }, ArchiveQuery);
    const excludes = q.exclude.map((e) => `&exclude=${encodeURIComponent(e)}`).join("");
    await relayTransfer(ctx, sandboxes, "archive.read", `/archive?dir=${encodeURIComponent(q.path)}${excludes}`);
  });
  r.on("PUT", base, async (ctx) => {
    const q = parseQuery(ctx, ArchiveWriteQuery);
    await relayTransfer(ctx, sandboxes, "archive.write", `/archive?${qs({ dir: q.path, maxMembers: q.maxMembers, maxExtractedBytes: q.maxExtractedBytes })}`);
  });
}
