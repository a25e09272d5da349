import { createInterface } from "node:readline";
import { ExecBody } from "../../contract/index.js";
import { readJson } from "../../lib/http-json.js";
import type { SandboxManager } from "../../sandboxes/index.js";
import type { Router } from "../router.js";
import { SseStream } from "../sse.js";
import { relay, sandboxIdOf } from "./common.js";

/** Commands: buffered JSON, or SSE when the caller accepts text/event-stream. */
export function execRoutes(r: Router, sandboxes: SandboxManager): void {
  r.on("POST", "/v1/sandboxes/:id/exec", async (ctx) => {
    const id = sandboxIdOf(ctx);
    const body = await readJson(ctx.req, ExecBody);
    const wantsStream = (ctx.req.headers.accept ?? "").includes("text/event-stream");
    const runtime = await sandboxes.runtime(id);
    if (!wantsStream) {
      const release = sandboxes.hold(id); // a long command keeps the sandbox awake
      try {
        const res = await runtime.send("POST", "/exec", body);
        // The caller leaving ends the runtime request, which kills the command.
        ctx.res.on("close", () => res.destroy());
        await relay(res, ctx.res);
      } finally {
        release();
      }
      return;
    }
    const release = sandboxes.hold(id);
    const sse = new SseStream(ctx.res);
    try {
      const res = await runtime.send("POST", "/exec?stream=1", body);
      ctx.res.on("close", () => res.destroy());
      if ((res.statusCode ?? 500) >= 400) {
        let text = "";
        for await (const c of res) text += c;
        sse.send("error", JSON.parse(text || "{}"));
        return;
      }
      let ended = false;
      for await (const line of createInterface({ input: res, crlfDelay: Infinity })) {
        if (!line) continue;
        const event = JSON.parse(line) as { type: string };
        sse.send(event.type, event);
        if (event.type === "complete" || event.type === "error") ended = true;
      }
      if (!ended && !sse.closed) sse.send("error", { type: "error", code: "RUNTIME_UNAVAILABLE", message: "the sandbox stopped before the command finished" });
    } catch (err) {
      if (!sse.closed) sse.send("error", { type: "error", code: "RUNTIME_UNAVAILABLE", message: (err as Error).message });
    } finally {
      release();
      sse.end();
    }
  });
}
