import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import { BurrowError, SandboxId } from "../../contract/index.js";
import type { Ctx } from "../router.js";

export function sandboxIdOf(ctx: Ctx): string {
  const r = SandboxId.safeParse(ctx.params.id);
  if (!r.success) throw new BurrowError("INVALID_SANDBOX_ID", `${JSON.stringify(ctx.params.id)}: ${r.error.issues[0]!.message}`);
  return r.data;
}

export function parseQuery<S extends z.ZodType>(ctx: Ctx, schema: S): z.infer<S> {
  const r = schema.safeParse(ctx.query);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new BurrowError(i.path[0] === "path" ? "INVALID_PATH" : "VALIDATION_FAILED", `query ${i.path.join(".") || ""}: ${i.message}`);
  }
  return r.data;
}

/** Pass a runtime answer through unchanged: status, type, length and body. */
export function relay(from: IncomingMessage, to: ServerResponse, extraHeaders: string[] = []): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  for (const h of ["content-type", "content-length", ...extraHeaders]) {
    const v = from.headers[h];
    if (v !== undefined) headers[h] = v;
  }
  to.writeHead(from.statusCode ?? 502, headers);
  from.pipe(to);
  return new Promise((resolve) => {
    to.on("close", () => {
      from.destroy();
      resolve();
    });
    from.on("error", () => to.destroy());
  });
}

export const qs = (q: Record<string, string | undefined>): string => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, v);
  return p.toString();
};
