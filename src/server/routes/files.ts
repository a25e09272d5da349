import { DeleteQuery, ListQuery, MkdirBody, MoveBody, PathQuery, WatchQuery, WriteQuery } from "../../contract/index.js";
import { readJson } from "../../lib/http-json.js";
import type { SandboxManager } from "../../sandboxes/index.js";
import type { Router } from "../router.js";
import { parseQuery, qs, relay, relayTransfer, runtimeOf, sandboxIdOf, sendTraced, sseFromRuntime } from "./common.js";
import { tracer } from "../../observability/tracing.js";

/** Files: bytes stream through in both directions; the runtime resolves every path inside the sandbox. */
export function fileRoutes(r: Router, sandboxes: SandboxManager): void {
  const base = "/v1/sandboxes/:id/files";
  // Transfers are spans (file names are not among their attributes); the runtime's part is the child `runtime.files.*`.
  r.on("GET", base, async (ctx) => {
    const q = parseQuery(ctx, PathQuery);
    const id = sandboxIdOf(ctx);
    const rt = await runtimeOf(ctx, sandboxes, id);
    await tracer.child(tracer.of(ctx.req), "files.read", { sandbox: id }, async (span) => {
      const res = await sendTraced(rt, span, "runtime.files.read", { sandbox: id }, "GET", `/files?${qs(q)}`);
      if (res.headers["x-burrow-size"]) span.setAttribute("files.bytes", Number(res.headers["x-burrow-size"]));
      await relay(res, ctx.res, ["x-burrow-size"]);
    });
  });
  r.on("PUT", base, async (ctx) => {
    const q = parseQuery(ctx, WriteQuery);
    await relayTransfer(ctx, sandboxes, "files.write", `/files?${qs(q)}`);
  });
  r.on("DELETE", base, async (ctx) => {
    const q = parseQuery(ctx, DeleteQuery);
    await relay(await (await sandboxes.runtime(sandboxIdOf(ctx))).send("DELETE", `/files?${qs(q)}`), ctx.res);
  });
  for (const sub of ["list", "stat", "exists"] as const) {
    r.on("GET", `${base}/${sub}`, async (ctx) => {
      const q = parseQuery(ctx, sub === "list" ? ListQuery : PathQuery);
      await relay(await (await sandboxes.runtime(sandboxIdOf(ctx))).send("GET", `/files/${sub}?${qs(q)}`), ctx.res);
    });
  }
  // SSE: `watching` first, then `event {type, path, isDirectory, from?}` until the caller closes it.
  r.on("GET", "/v1/sandboxes/:id/watch", async (ctx) => {
    const q = parseQuery(ctx, WatchQuery);
    await sseFromRuntime(ctx, sandboxes, sandboxIdOf(ctx), (rt) => rt.send("GET", `/watch?${qs(q)}`), ["error"], true);
  });
  r.on("POST", `${base}/mkdir`, async (ctx) => {
    const body = await readJson(ctx.req, MkdirBody);
    await relay(await (await sandboxes.runtime(sandboxIdOf(ctx))).send("POST", "/files/mkdir", body), ctx.res);
  });
  r.on("POST", `${base}/move`, async (ctx) => {
    const body = await readJson(ctx.req, MoveBody);
    await relay(await (await sandboxes.runtime(sandboxIdOf(ctx))).send("POST", "/files/move", body), ctx.res);
  });
}
