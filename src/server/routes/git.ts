import { GitCheckoutBody } from "../../contract/index.js";
import { readJson } from "../../lib/http-json.js";
import type { SandboxManager } from "../../sandboxes/index.js";
import type { Router } from "../router.js";
import { relay, sandboxIdOf } from "./common.js";

/** Clone a repository inside the sandbox (through its egress proxy). */
export function gitRoutes(r: Router, sandboxes: SandboxManager): void {
  r.on("POST", "/v1/sandboxes/:id/git/checkout", async (ctx) => {
    const id = sandboxIdOf(ctx);
    const body = await readJson(ctx.req, GitCheckoutBody);
    const rt = await sandboxes.runtime(id);
    const release = sandboxes.hold(id);
    try {
      await relay(await rt.send("POST", "/git", body), ctx.res);
    } finally {
      release();
    }
  });
}
