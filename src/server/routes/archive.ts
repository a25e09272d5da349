import { ArchiveQuery, ArchiveWriteQuery } from "../../contract/index.js";
import type { SandboxManager } from "../../sandboxes/index.js";
import type { Router } from "../router.js";
import { parseQuery, parseQueryOf, qs, relay, runtimeOf, sandboxIdOf, sendTraced } from "./common.js";
import { tracer } from "../../observability/tracing.js";

/**
 * A directory as one tar stream, out (`GET`) and in (`PUT`, which replaces
 * the directory's contents whole or not at all). The runtime runs the
 * sandbox's own tar and checks every member; bytes stream through here.
 */
export function archiveRoutes(r: Router, sandboxes: SandboxManager): void {
  const base = "/v1/sandboxes/:id/archive";
  r.on("GET", base, async (ctx) => {
    const params = new URL(ctx.req.url ?? "/", "http://burrow").searchParams;
    const q = parseQueryOf({ path: params.get("path") ?? undefined, exclude: params.getAll("exclude") }, ArchiveQuery);
    const id = sandboxIdOf(ctx);
    const rt = await runtimeOf(ctx, sandboxes, id);
    const release = sandboxes.hold(id);
    try {
      await tracer.child(tracer.of(ctx.req), "archive.read", { sandbox: id }, async (span) => {
        const excludes = q.exclude.map((e) => `&exclude=${encodeURIComponent(e)}`).join("");
        await relay(await sendTraced(rt, span, "runtime.archive.read", { sandbox: id }, "GET", `/archive?dir=${encodeURIComponent(q.path)}${excludes}`), ctx.res);
      });
    } finally {
      release();
    }
  });
  r.on("PUT", base, async (ctx) => {
    const q = parseQuery(ctx, ArchiveWriteQuery);
    const id = sandboxIdOf(ctx);
    const rt = await runtimeOf(ctx, sandboxes, id);
    const release = sandboxes.hold(id);
    try {
      await tracer.child(tracer.of(ctx.req), "archive.write", { sandbox: id }, async (span) => {
        const answer = await sendTraced(rt, span, "runtime.archive.write", { sandbox: id }, "PUT", `/archive?${qs({ dir: q.path, maxMembers: q.maxMembers, maxExtractedBytes: q.maxExtractedBytes })}`, ctx.req);
        // Refused part-way (a bad member): the rest of the upload will not be read, so this connection cannot carry another request.
        if ((answer.statusCode ?? 500) >= 400 && !ctx.req.complete) ctx.res.shouldKeepAlive = false;
        await relay(answer, ctx.res);
      });
    } finally {
      release();
    }
  });
}
