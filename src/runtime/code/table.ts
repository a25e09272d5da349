import type { IncomingMessage, ServerResponse } from "node:http";
import { BurrowError } from "../../contract/errors.js";
import { readBody, sendJson, startNdjson } from "../../lib/http-json.js";
import { spanDone, spanStreams } from "../span.js";
import { applyEnv, DEFAULT_CWD } from "../env.js";
import { checkCwd } from "../exec.js";
import { CodeContext, interpreterFor, notFound } from "./context.js";
import { Interpreter, type CellEvent, type InterpreterLanguage } from "./interpreter.js";

/**
 * The sandbox's code contexts. After the first context is made, one spare
 * interpreter waits ready, so the next `createCodeContext` is immediate.
 */
export class CodeContextTable {
  private readonly contexts = new Map<string, CodeContext>();
  /** One spare interpreter per language, started after that language's first context. */
  private readonly spares = new Map<InterpreterLanguage, Interpreter>();

  constructor(private readonly env: Record<string, string>) {}

  async handle(req: IncomingMessage, res: ServerResponse, parts: string[], q: Record<string, string>): Promise<void> {
    const [, id, sub] = parts;
    if (req.method === "POST" && !id) return this.create(req, res);
    if (req.method === "GET" && !id) return sendJson(res, 200, { contexts: [...this.contexts.values()].map((c) => c.info()) });
    const ctx = this.contexts.get(id!);
    if (!ctx) throw notFound(id!);
    if (req.method === "DELETE" && !sub) {
      this.contexts.delete(ctx.id);
      ctx.dispose();
      return sendJson(res, 200, { id: ctx.id, deleted: true });
    }
    if (req.method === "POST" && sub === "run") return this.run(req, res, ctx, q.stream === "1");
    throw new BurrowError("NOT_FOUND", `runtime has no route ${req.method} /${parts.join("/")}`);
  }

  private async create(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const b = (await readBody(req)) as { language?: CodeContext["language"]; cwd?: string; env?: Record<string, string>; timeout?: number };
    const language = b.language ?? "python";
    const kind = interpreterFor(language);
    const cwd = b.cwd ?? DEFAULT_CWD;
    checkCwd(cwd);
    const candidate = this.spares.get(kind);
    const spare = candidate?.alive ? candidate : undefined;
    this.spares.delete(kind);
    const ctx = await CodeContext.start(language, cwd, applyEnv(this.env, b.env), spare, b.timeout);
    this.contexts.set(ctx.id, ctx);
    sendJson(res, 200, { ...ctx.info(), pooled: !!spare });
    // Refill the spare once the answer is on its way (spawning blocks the loop for a few ms).
    setTimeout(() => {
      if (this.spares.has(kind)) return;
      const next = new Interpreter(kind, DEFAULT_CWD, this.env);
      this.spares.set(kind, next);
      next.ready.catch(() => this.spares.get(kind) === next && this.spares.delete(kind));
    }, 20);
  }

  private async run(req: IncomingMessage, res: ServerResponse, ctx: CodeContext, stream: boolean): Promise<void> {
    const b = (await readBody(req)) as { code: string; timeoutMs?: number };
    const abort = new AbortController();
    res.on("close", () => !res.writableFinished && abort.abort());
    if (stream) {
      spanStreams(res);
      const send = startNdjson(res);
      const outcome = await ctx.run(b.code, b.timeoutMs ?? ctx.defaultTimeoutMs, (e) => send(e), abort.signal);
      send({ type: "complete", ...outcome });
      return void res.end();
    }
    const results: Extract<CellEvent, { type: "result" }>[] = [];
    const logs = { stdout: [] as string[], stderr: [] as string[] };
    let error: Omit<Extract<CellEvent, { type: "error" }>, "type"> | undefined;
    const outcome = await ctx.run(
      b.code,
      b.timeoutMs ?? ctx.defaultTimeoutMs,
      (e) => {
        if (e.type === "stdout") logs.stdout.push(e.data);
        else if (e.type === "stderr") logs.stderr.push(e.data);
        else if (e.type === "result") results.push(e);
        else error = { name: e.name, message: e.message, traceback: e.traceback };
      },
      abort.signal,
    );
    spanDone(res);
    sendJson(res, 200, {
      results: results.map((r) => ({ ...toResult(r.data), ...(r.isMainResult ? { isMainResult: true } : {}) })),
      logs: { stdout: logs.stdout.join(""), stderr: logs.stderr.join("") },
      ...(error ? { error } : {}),
      ...outcome,
    });
  }

  disposeAll(): void {
    for (const c of this.contexts.values()) c.dispose();
    for (const s of this.spares.values()) s.kill();
  }
}

/** A result's representations by name: text, html, png, jpeg, svg, json, markdown, latex. */
export function toResult(data: Record<string, string>): Record<string, unknown> {
  const names: Record<string, string> = {
    "text/plain": "text", "text/html": "html", "image/png": "png", "image/jpeg": "jpeg", "image/svg+xml": "svg",
    "application/json": "json", "text/markdown": "markdown", "text/latex": "latex", "application/javascript": "javascript",
  };
  const out: Record<string, unknown> = {};
  for (const [mime, v] of Object.entries(data)) out[names[mime] ?? mime] = v;
  return out;
}
