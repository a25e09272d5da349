import type { IncomingMessage, ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import { BurrowError } from "../contract/index.js";
import { readJson, sendJson } from "../lib/http-json.js";
import { CreateContextBody, ExecuteBody } from "./schemas.js";
import type { CodeContextMeta, E2bSandboxes } from "./sandboxes.js";
import { DEFAULT_USER, homeOf, resolvePath } from "./users.js";
import { ndjson } from "../lib/ndjson.js";

const LANGUAGES: Record<string, CodeContextMeta["language"]> = {
  python: "python", python3: "python", js: "javascript", javascript: "javascript", node: "javascript", ts: "typescript", typescript: "typescript",
};

/** A result's representations by E2B's names (Burrow's interpreters report MIME types). */
const NAMES: Record<string, string> = {
  "text/plain": "text", "text/html": "html", "image/png": "png", "image/jpeg": "jpeg", "image/svg+xml": "svg", "application/pdf": "pdf",
  "application/json": "json", "text/markdown": "markdown", "text/latex": "latex", "application/javascript": "javascript",
};

function languageOf(name: string | undefined): CodeContextMeta["language"] {
  const lang = LANGUAGES[(name ?? "python").toLowerCase()];
  if (!lang) throw new BurrowError("VALIDATION_FAILED", `language ${JSON.stringify(name)} is not served; Burrow runs python, javascript (js) and typescript (ts)`);
  return lang;
}

/**
 * The code interpreter's API (`/execute`, `/contexts`) on Burrow's code
 * contexts. E2B context ids are the adapter's own, mapped to a Burrow
 * context, so that a restart can replace the interpreter and keep the id.
 */
export class CodeService {
  constructor(private readonly sandboxes: E2bSandboxes) {}

  async handle(id: string, parts: string[], req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const [head, ctxId, sub] = parts;
    if (head === "execute" && method === "POST" && parts.length === 1) return this.execute(id, req, res);
    if (head !== "contexts") throw new BurrowError("NOT_FOUND", `no route ${method} /${parts.join("/")}`);
    const table = this.sandboxes.of(id).contexts;
    if (!ctxId && method === "POST") {
      const b = await readJson(req, CreateContextBody);
      const e2bId = await this.create(id, languageOf(b.language), b.cwd ? resolvePath(b.cwd, DEFAULT_USER) : homeOf(DEFAULT_USER));
      return sendJson(res, 200, this.describe(e2bId, table.get(e2bId)!));
    }
    if (!ctxId && method === "GET") return sendJson(res, 200, [...table].map(([k, m]) => this.describe(k, m)));
    const meta = ctxId ? table.get(ctxId) : undefined;
    if (!meta) throw new BurrowError("CONTEXT_NOT_FOUND", `no code context ${ctxId} in sandbox ${id}`);
    const rt = await this.sandboxes.runtime(id);
    if (method === "DELETE" && !sub) {
      table.delete(ctxId!);
      await rt.json("DELETE", `/contexts/${meta.burrowId}`).catch(() => {});
      return void res.writeHead(204).end();
    }
    if (method === "POST" && sub === "restart") {
      await rt.json("DELETE", `/contexts/${meta.burrowId}`).catch(() => {});
      meta.burrowId = await this.start(id, meta.language, meta.cwd);
      return void res.writeHead(204).end();
    }
    throw new BurrowError("NOT_FOUND", `no route ${method} /${parts.join("/")}`);
  }

  private describe(e2bId: string, m: CodeContextMeta) {
    return { id: e2bId, language: m.language, cwd: m.cwd };
  }

  private async start(id: string, language: CodeContextMeta["language"], cwd: string): Promise<string> {
    const rt = await this.sandboxes.runtime(id);
    await this.sandboxes.ensureUser(id, DEFAULT_USER);
    const info = await rt.json<{ id: string }>("POST", "/contexts", { language, cwd });
    return info.id;
  }

  private async create(id: string, language: CodeContextMeta["language"], cwd: string): Promise<string> {
    const burrowId = await this.start(id, language, cwd);
    const e2bId = randomBytes(8).toString("hex");
    this.sandboxes.of(id).contexts.set(e2bId, { burrowId, language, cwd });
    return e2bId;
  }

  /** The default context of a language, made once per sandbox. */
  private defaultContext(id: string, language: CodeContextMeta["language"]): Promise<string> {
    const defaults = this.sandboxes.of(id).defaults;
    let p = defaults.get(language);
    if (!p) {
      p = this.create(id, language, homeOf(DEFAULT_USER));
      defaults.set(language, p);
      p.catch(() => defaults.get(language) === p && defaults.delete(language));
    }
    return p;
  }

  /** `POST /execute`: run a cell and answer E2B's NDJSON stream (stdout, stderr, result, error, number_of_executions, end_of_execution). */
  private async execute(id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const b = await readJson(req, ExecuteBody);
    if (b.context_id && b.language) throw new BurrowError("VALIDATION_FAILED", "give context_id or language, not both");
    if (b.env_vars && Object.keys(b.env_vars).length)
      throw new BurrowError("VALIDATION_FAILED", "per-run env_vars are not supported by Burrow's interpreters; set them on the sandbox (envs at create) instead");
    const table = this.sandboxes.of(id).contexts;
    const e2bId = b.context_id ?? (await this.defaultContext(id, languageOf(b.language)));
    const meta = table.get(e2bId);
    if (!meta) throw new BurrowError("CONTEXT_NOT_FOUND", `no code context ${b.context_id} in sandbox ${id}`);
    const rt = await this.sandboxes.runtime(id);
    const abort = new AbortController();
    res.on("close", () => !res.writableFinished && abort.abort());
    let up = await rt.send("POST", `/contexts/${meta.burrowId}/run?stream=1`, { code: b.code }, {}, abort.signal);
    if (up.statusCode === 404) {
      // The sandbox slept since: its interpreters are gone. A context's state is lost, so start a fresh one under the same id.
      up.resume();
      meta.burrowId = await this.start(id, meta.language, meta.cwd);
      up = await rt.send("POST", `/contexts/${meta.burrowId}/run?stream=1`, { code: b.code }, {}, abort.signal);
    }
    if ((up.statusCode ?? 500) >= 400) {
      up.resume();
      throw new BurrowError("RUNTIME_UNAVAILABLE", `the interpreter did not start the cell (${up.statusCode})`);
    }
    const release = this.sandboxes.manager.hold(id);
    res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
    res.flushHeaders();
    const send = (o: object) => !res.writableEnded && res.write(JSON.stringify(o) + "\n");
    try {
      for await (const e of ndjson<{ type: string; data?: unknown; isMainResult?: boolean; name?: string; message?: string; traceback?: string; executionCount?: number }>(up)) {
        const timestamp = new Date().toISOString();
        if (e.type === "stdout" || e.type === "stderr") send({ type: e.type, text: e.data, timestamp });
        else if (e.type === "result") {
          const out: Record<string, unknown> = { type: "result", is_main_result: !!e.isMainResult };
          for (const [mime, v] of Object.entries((e.data ?? {}) as Record<string, unknown>)) out[NAMES[mime] ?? mime] = v;
          send(out);
        } else if (e.type === "error") send({ type: "error", name: e.name, value: e.message, traceback: e.traceback });
        else if (e.type === "complete") {
          send({ type: "number_of_executions", execution_count: e.executionCount ?? 0 });
          send({ type: "end_of_execution" });
        }
      }
    } finally {
      release();
      res.end();
    }
  }
}
