import { BurrowError, ContextId, CreateContextBody, RunCodeBody } from "../../contract/index.js";
import { readJson } from "../../lib/http-json.js";
import type { SandboxManager } from "../../sandboxes/index.js";
import type { Ctx, Router } from "../router.js";
import { relay, runtimeOf, sandboxIdOf, sendTraced, sseFromRuntime } from "./common.js";
import { tracer } from "../../observability/tracing.js";

function contextIdOf(ctx: Ctx): string {
  const r = ContextId.safeParse(ctx.params.ctx);
  if (!r.success) throw new BurrowError("CONTEXT_NOT_FOUND", `no code context ${ctx.params.ctx}: ${r.error.issues[0]!.message}`);
  return r.data;
}

/** Code contexts: persistent interpreters inside the sandbox. */
export function contextRoutes(r: Router, sandboxes: SandboxManager): void {
  const base = "/v1/sandboxes/:id/contexts";
  r.on("POST", base, async (ctx) => {
    const body = await readJson(ctx.req, CreateContextBody);
    await relay(await (await sandboxes.runtime(sandboxIdOf(ctx))).send("POST", "/contexts", body), ctx.res);
  });
  r.on("GET", base, async (ctx) => relay(await (await sandboxes.runtime(sandboxIdOf(ctx))).send("GET", "/contexts"), ctx.res));
  r.on("DELETE", `${base}/:ctx`, async (ctx) => {
    const cid = contextIdOf(ctx);
    await relay(await (await sandboxes.runtime(sandboxIdOf(ctx))).send("DELETE", `/contexts/${cid}`), ctx.res);
  });
  r.on("POST", `${base}/:ctx/run`, async (ctx) => {
    const cid = contextIdOf(ctx);
    const id = sandboxIdOf(ctx);
    const body = await readJson(ctx.req, RunCodeBody);
    const attrs = { sandbox: id, "code.context": cid };
    if ((ctx.req.headers.accept ?? "").includes("text/event-stream"))
      return tracer.child(tracer.of(ctx.req), "code.run", { ...attrs, "code.stream": true }, (span) =>
        sseFromRuntime(ctx, sandboxes, id, (rt) => sendTraced(rt, span, "runtime.code.run", attrs, "POST", `/contexts/${cid}/run?stream=1`, body), ["complete"]),
      );
    const rt = await runtimeOf(ctx, sandboxes, id);
    const release = sandboxes.hold(id);
    // Listen for the caller leaving before the runtime answers: the answer only comes once the cell is done,
    // and dropping the runtime request is what interrupts the cell.
    const left = new AbortController();
    const onClose = () => !ctx.res.writableFinished && left.abort();
    ctx.res.on("close", onClose);
    try {
      if (ctx.res.destroyed) return;
      const res = await tracer.child(tracer.of(ctx.req), "code.run", attrs, (span) => sendTraced(rt, span, "runtime.code.run", attrs, "POST", `/contexts/${cid}/run`, body, left.signal));
      ctx.res.on("close", () => res.destroy());
      await relay(res, ctx.res);
    } catch (err) {
      if (!left.signal.aborted) throw err; // nobody is left to answer
    } finally {
      ctx.res.off("close", onClose);
      release();
    }
  });
}
