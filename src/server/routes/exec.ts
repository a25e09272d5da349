import { ExecBody } from "../../contract/index.js";
import { readJson } from "../../lib/http-json.js";
import type { SandboxManager } from "../../sandboxes/index.js";
import type { Router } from "../router.js";
import { relay, runtimeOf, sandboxIdOf, sendTraced, sseFromRuntime } from "./common.js";
import { channels, publish } from "../../observability/channels.js";
import { tracer } from "../../observability/tracing.js";

/** Commands: buffered JSON, or SSE when the caller accepts text/event-stream. */
export function execRoutes(r: Router, sandboxes: SandboxManager): void {
  r.on("POST", "/v1/sandboxes/:id/exec", async (ctx) => {
    const id = sandboxIdOf(ctx);
    const body = await readJson(ctx.req, ExecBody);
    if ((ctx.req.headers.accept ?? "").includes("text/event-stream"))
      return tracer.child(tracer.of(ctx.req), "exec", { sandbox: id, "exec.stream": true }, (span) =>
        sseFromRuntime(ctx, sandboxes, id, (rt) => sendTraced(rt, span, "runtime.exec", { sandbox: id }, "POST", "/exec?stream=1", body), ["complete", "error"]),
      );
    const t0 = performance.now();
    const runtime = await runtimeOf(ctx, sandboxes, id);
    const release = sandboxes.hold(id); // a long command keeps the sandbox awake
    try {
      const res = await tracer.child(tracer.of(ctx.req), "exec", { sandbox: id }, (span) => sendTraced(runtime, span, "runtime.exec", { sandbox: id }, "POST", "/exec", body));
      // The caller leaving ends the runtime request, which kills the command.
      ctx.res.on("close", () => res.destroy());
      await relay(res, ctx.res);
      publish(channels.exec, () => ({ id, durationMs: performance.now() - t0, exitCode: null }));
    } finally {
      release();
    }
  });
}
