import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import { BurrowError, type ErrorCode, SandboxId } from "../../contract/index.js";
import type { RuntimeClient, SandboxManager } from "../../sandboxes/index.js";
import type { Ctx } from "../router.js";
import { relayNdjson, SseStream } from "../sse.js";
import { tracer, type Span } from "../../observability/tracing.js";

/** A path parameter checked against its schema; a bad one is a 400 with the schema's message. */
export function paramOf(ctx: Ctx, name: string, schema: z.ZodType<string>, code: ErrorCode = "VALIDATION_FAILED"): string {
  const r = schema.safeParse(ctx.params[name]);
  if (!r.success) throw new BurrowError(code, `${JSON.stringify(ctx.params[name])}: ${r.error.issues[0]!.message}`);
  return r.data;
}

export const sandboxIdOf = (ctx: Ctx): string => paramOf(ctx, "id", SandboxId, "INVALID_SANDBOX_ID");

export function parseQuery<S extends z.ZodType>(ctx: Ctx, schema: S): z.infer<S> {
  return parseQueryOf(ctx.query, schema);
}

/** parseQuery for a query gathered by hand (repeated keys as arrays, say). */
export function parseQueryOf<S extends z.ZodType>(query: unknown, schema: S): z.infer<S> {
  const r = schema.safeParse(query);
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

/** The runtime of sandbox `id`; a start it waits for is a child span of the request's. */
export function runtimeOf(ctx: Ctx, sandboxes: SandboxManager, id: string): Promise<RuntimeClient> {
  return tracer.enabled ? tracer.awaitingStart(id, tracer.of(ctx.req), () => sandboxes.runtime(id)) : sandboxes.runtime(id);
}

/**
 * A transfer through the runtime: the sandbox is held awake while the bytes
 * move, inside span `name` (the runtime's part is `runtime.<name>`); a PUT's
 * body streams to the runtime, and the runtime's answer is relayed.
 */
export async function relayTransfer(ctx: Ctx, sandboxes: SandboxManager, name: string, path: string): Promise<void> {
  const id = sandboxIdOf(ctx);
  const rt = await runtimeOf(ctx, sandboxes, id);
  const release = sandboxes.hold(id);
  try {
    await tracer.child(tracer.of(ctx.req), name, { sandbox: id }, async (span) => {
      const upload = ctx.req.method === "PUT";
      const answer = await sendTraced(rt, span, `runtime.${name}`, { sandbox: id }, ctx.req.method ?? "GET", path, upload ? ctx.req : undefined);
      // Refused part-way (a full disk, a bad archive member): the rest of the body will never be read, so this connection cannot carry another request.
      if (upload && (answer.statusCode ?? 500) >= 400 && !ctx.req.complete) ctx.res.shouldKeepAlive = false;
      await relay(answer, ctx.res);
    });
  } finally {
    release();
  }
}

/**
 * A runtime request made inside `span`: it carries the trace context, and
 * the runtime's own part comes back as the child `runtimeSpan`.
 */
export async function sendTraced(
  rt: RuntimeClient,
  span: Span,
  runtimeSpan: string,
  attributes: Record<string, string | number | boolean>,
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<IncomingMessage> {
  const res = await rt.send(method, path, body, tracer.headers(span), signal);
  tracer.remoteChild(span, runtimeSpan, res, attributes);
  return res;
}

export const qs = (q: Record<string, string | undefined>): string => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, v);
  return p.toString();
};

/**
 * Answer with SSE relayed from a runtime NDJSON stream. The sandbox is woken
 * first (so failures there are plain HTTP errors) and held awake while the
 * stream is open; the caller leaving closes the runtime stream.
 */
export async function sseFromRuntime(
  ctx: Ctx,
  sandboxes: SandboxManager,
  id: string,
  open: (runtime: RuntimeClient) => Promise<IncomingMessage>,
  terminal: string[],
  endless = false,
): Promise<void> {
  const runtime = await runtimeOf(ctx, sandboxes, id);
  const release = sandboxes.hold(id);
  try {
    const res = await open(runtime);
    // Refused before it began (bad cwd, missing path...): a plain HTTP error, not a stream.
    if ((res.statusCode ?? 500) >= 400) return await relay(res, ctx.res);
    const sse = new SseStream(ctx.res);
    ctx.res.on("close", () => res.destroy());
    // A stream cut off by a crash says so, with the crash's reason.
    const explain = async () => {
      const crash = await sandboxes.recentCrash(id);
      return crash && { code: "SANDBOX_CRASHED", message: `sandbox ${id} crashed: ${crash.reason}; the next request restarts it`, crash };
    };
    try {
      await relayNdjson(res, sse, terminal, endless, explain);
    } catch (err) {
      const why = await explain();
      if (!sse.closed) sse.send("error", why ? { type: "error", ...why } : { type: "error", code: "RUNTIME_UNAVAILABLE", message: (err as Error).message });
    } finally {
      sse.end();
    }
  } finally {
    release();
  }
}
