import type { IncomingMessage, ServerResponse } from "node:http";
import { BurrowError } from "../contract/errors.js";
import type { CreateSessionBody, ExecBody, ExecEvent, SetEnvBody } from "../contract/index.js";
import { RUNTIME_PROTOCOL } from "../contract/runtime-protocol.js";
import { runOnce, MAX_BUFFERED } from "./exec.js";
import { Session } from "./session.js";
import { ProcessTable } from "./processes.js";
import { ProcessRoutes } from "./process-routes.js";
import { DEFAULT_EXCLUDES, TreeWatcher } from "./watcher.js";
import { gitCheckout, type CheckoutBody } from "./git.js";
import { TerminalTable } from "./terminal.js";
import { CodeContextTable } from "./code/table.js";
import * as files from "./files.js";
import { packDirectory, unpackDirectory } from "./backup.js";
import { receiveArchive, sendArchive } from "./archive.js";
import { sandboxTrust, setSandboxTrust } from "./trust.js";
import { ensureUser } from "./users.js";
import { readBody, sendJson, startNdjson } from "../lib/http-json.js";
import { spanBegin, spanDone, spanStreams } from "./span.js";

const truthy = (v: string | undefined): boolean => v === "true" || v === "1";

/*
 * Bodies are not re-validated here: only the server, which validated them
 * with the contract's zod schemas, and the sandbox's own root (who could do
 * anything anyway) can reach this socket. Keeping zod out of the bundle
 * halves the runtime's start time.
 */
const read = <T>(req: IncomingMessage) => readBody(req) as Promise<T>;
import { applyEnv, DEFAULT_CWD } from "./env.js";

/** Route table of the runtime's API on its unix socket (spoken only by the server). */
export class RuntimeRoutes {
  private readonly sessions = new Map<string, Session>();
  private readonly processes = new ProcessTable();
  private readonly processRoutes: ProcessRoutes;
  readonly terminals: TerminalTable;
  private readonly contexts: CodeContextTable;

  constructor(private readonly env: Record<string, string>) {
    this.processRoutes = new ProcessRoutes(this.processes, env, (id) => this.session(id));
    this.terminals = new TerminalTable(env, (id) => this.session(id));
    this.contexts = new CodeContextTable(env);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    spanBegin(req, res);
    const url = new URL(req.url ?? "/", "http://runtime");
    const q = Object.fromEntries(url.searchParams);
    const parts = url.pathname.split("/").filter(Boolean);
    const route = `${req.method} /${parts[0] ?? ""}${parts[1] && parts[0] === "files" ? "/" + parts[1] : ""}`;

    if (parts[0] === "sessions" && parts.length > 1) return this.sessionRoute(req, res, parts);
    if (parts[0] === "processes" || parts[0] === "ports") return this.processRoutes.handle(req, res, parts, q);
    if (parts[0] === "contexts") return this.contexts.handle(req, res, parts, q);
    switch (route) {
      case "GET /health":
        return sendJson(res, 200, { ok: true, protocol: RUNTIME_PROTOCOL, pid: process.pid, rss: process.memoryUsage.rss(), sessions: this.sessions.size });
      case "POST /exec":
        return this.exec(req, res, truthy(q.stream));
      case "POST /sessions":
        return this.createSession(req, res);
      case "POST /env": {
        const b = await read<SetEnvBody>(req);
        for (const [k, v] of Object.entries(b.env)) {
          if (v === null) delete this.env[k];
          else this.env[k] = v;
        }
        return sendJson(res, 200, { updated: Object.keys(b.env) });
      }
      case "PUT /trust": {
        const b = await read<{ extraCaCerts: string | null }>(req);
        const { certificates, env } = await setSandboxTrust(b.extraCaCerts);
        // Only names not set already: a sandbox env that points a variable elsewhere keeps its choice.
        for (const [k, v] of Object.entries(env)) if (!(k in this.env)) this.env[k] = v;
        return sendJson(res, 200, { certificates });
      }
      case "POST /users": {
        const b = await read<{ name: string; create?: boolean; claimWorkspace?: boolean }>(req);
        return sendJson(res, 200, { user: ensureUser(b.name, b) });
      }
      case "GET /trust":
        return sendJson(res, 200, { certificates: await sandboxTrust() });
      case "GET /sessions":
        return sendJson(res, 200, { sessions: [...this.sessions.values()].map((s) => ({ id: s.id, createdAt: s.createdAt })) });
      case "POST /git":
        return sendJson(res, 200, await gitCheckout(await read<CheckoutBody>(req), this.env));
      case "POST /backup": {
        // Archive a directory; the file count follows as a trailer once the archive is complete.
        const b = await read<{ dir: string; excludes?: string[]; gitignore?: boolean }>(req);
        const { stream, done } = await packDirectory(b.dir, b);
        res.writeHead(200, { "content-type": "application/gzip", trailer: "x-burrow-files, x-burrow-error" });
        stream.pipe(res, { end: false });
        done.then(
          (st) => stream.once("end", () => (res.addTrailers({ "x-burrow-files": String(st.files) }), res.end())),
          (err: Error) => (res.addTrailers({ "x-burrow-error": encodeURIComponent(err.message) }), res.end()),
        );
        return;
      }
      case "GET /archive":
        spanStreams(res);
        return sendArchive(res, q.dir!, url.searchParams.getAll("exclude"), truthy(q.create));
      case "PUT /archive": {
        const limit = (v: string | undefined) => (v === undefined ? undefined : Number(v));
        const received = await receiveArchive(req, q.dir!, { maxMembers: limit(q.maxMembers), maxExtractedBytes: limit(q.maxExtractedBytes), maxInputBytes: limit(q.maxBytes) });
        spanDone(res);
        return sendJson(res, 200, received);
      }
      case "PUT /backup":
        return sendJson(res, 200, await unpackDirectory(q.dir!, req));
      case "GET /watch":
        return this.watch(req, res, q);
      case "GET /files":
        return this.readFile(res, q.path!);
      case "PUT /files": {
        const mode = q.mode ? parseInt(q.mode, 8) : undefined;
        const written = await files.writeFrom(q.path!, req, mode);
        spanDone(res);
        return sendJson(res, 200, written);
      }
      case "DELETE /files":
        await files.remove(q.path!, truthy(q.recursive));
        return sendJson(res, 200, { path: q.path, deleted: true });
      case "GET /files/list":
        return sendJson(res, 200, { path: q.path, files: await files.list(q.path!, truthy(q.recursive), truthy(q.includeHidden)) });
      case "GET /files/stat":
        return sendJson(res, 200, await files.statPath(q.path!));
      case "GET /files/exists":
        return sendJson(res, 200, await files.exists(q.path!));
      case "POST /files/mkdir": {
        const b = await read<{ path: string; recursive?: boolean }>(req);
        await files.makeDir(b.path, b.recursive ?? false);
        return sendJson(res, 200, { path: b.path, created: true });
      }
      case "POST /files/move": {
        const b = await read<{ from: string; to: string; overwrite?: boolean }>(req);
        await files.move(b.from, b.to, b.overwrite ?? false);
        return sendJson(res, 200, { from: b.from, to: b.to, moved: true });
      }
    }
    throw new BurrowError("NOT_FOUND", `runtime has no route ${req.method} ${url.pathname}`);
  }

  private async sessionRoute(req: IncomingMessage, res: ServerResponse, parts: string[]): Promise<void> {
    const s = this.session(parts[1]);
    if (req.method === "DELETE" && parts.length === 2) {
      this.sessions.delete(s.id);
      await s.dispose();
      // Processes started for this session end with it; the sandbox's own processes do not.
      const killed = this.processes.killAll("SIGTERM", s.id);
      return sendJson(res, 200, { id: s.id, deleted: true, processesKilled: killed });
    }
    if (req.method === "POST" && parts[2] === "env") {
      const b = await read<SetEnvBody>(req);
      await s.setEnv(b.env);
      return sendJson(res, 200, { id: s.id, updated: Object.keys(b.env) });
    }
    throw new BurrowError("NOT_FOUND", `runtime has no route ${req.method} /${parts.join("/")}`);
  }

  private watch(req: IncomingMessage, res: ServerResponse, q: Record<string, string>): void {
    const list = (v: string | undefined) => (v ? v.split(",").map((x) => x.trim()).filter(Boolean) : []);
    const exclude = q.exclude !== undefined ? list(q.exclude) : DEFAULT_EXCLUDES;
    let send: ((e: object) => void) | undefined;
    const watcher = new TreeWatcher(
      q.path!,
      { recursive: q.recursive !== "false" && q.recursive !== "0", include: list(q.include), exclude },
      (e) => send?.({ sse: "event", data: e }),
      (message) => {
        send?.({ type: "error", code: "WATCH_FAILED", message });
        res.end();
      },
    );
    watcher.start(); // a missing path throws here, before the stream starts
    send = startNdjson(res);
    send({ type: "watching", path: q.path, recursive: q.recursive !== "false" && q.recursive !== "0", exclude });
    req.on("close", () => watcher.close());
  }

  private session(id: string | undefined): Session {
    const s = id ? this.sessions.get(id) : undefined;
    if (!s) throw new BurrowError("SESSION_NOT_FOUND", `no session ${id}: create it with POST /sessions first`, { sessionId: id });
    return s;
  }

  private async createSession(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const b = await read<CreateSessionBody>(req);
    const id = b.id ?? `session-${Math.random().toString(36).slice(2, 10)}`;
    if (this.sessions.has(id)) throw new BurrowError("SESSION_BUSY", `session ${id} already exists: delete it first or use another id`, { sessionId: id });
    const s = new Session(id, b.cwd ?? DEFAULT_CWD, applyEnv(this.env, b.env));
    this.sessions.set(id, s);
    sendJson(res, 200, { id, createdAt: s.createdAt, cwd: b.cwd ?? DEFAULT_CWD });
  }

  private async exec(req: IncomingMessage, res: ServerResponse, stream: boolean): Promise<void> {
    const body = await read<ExecBody>(req);
    const session = body.sessionId !== undefined ? this.session(body.sessionId) : undefined;
    const abort = new AbortController();
    // A caller that goes away takes its command with it.
    res.on("close", () => {
      if (!res.writableFinished) abort.abort();
    });

    if (stream) {
      let send: ((e: object) => void) | undefined;
      const early: ExecEvent[] = [];
      const emit = (e: ExecEvent) => (send ? send(e) : early.push(e));
      try {
        const run = session ? session.run(body, emit) : runOnce(body, this.env, DEFAULT_CWD, emit, abort.signal);
        spanStreams(res);
        send = startNdjson(res);
        early.forEach(send);
        const r = await run;
        if (r.timedOut) send({ type: "error", code: "EXEC_TIMEOUT", message: `command timed out after ${body.timeoutMs} ms and was killed` });
        else send({ type: "complete", exitCode: r.exitCode, durationMs: r.durationMs, ...("sessionExited" in r && r.sessionExited ? { sessionExited: true } : {}) });
      } catch (err) {
        if (!send) throw err;
        const e = err instanceof BurrowError ? err : new BurrowError("INTERNAL", String(err));
        send({ type: "error", code: e.code, message: e.message });
      }
      res.end();
      return;
    }

    let stdout = "";
    let stderr = "";
    let truncated = false;
    const emit = (e: ExecEvent) => {
      if (e.type !== "stdout" && e.type !== "stderr") return;
      if (stdout.length + stderr.length + e.data.length > MAX_BUFFERED) {
        truncated = true;
        return;
      }
      if (e.type === "stdout") stdout += e.data;
      else stderr += e.data;
    };
    const r = session ? await session.run(body, emit) : await runOnce(body, this.env, DEFAULT_CWD, emit, abort.signal);
    if (r.timedOut)
      throw new BurrowError("EXEC_TIMEOUT", `command timed out after ${body.timeoutMs} ms; it and every process it started were killed`, {
        stdout, stderr, durationMs: r.durationMs,
      });
    spanDone(res);
    sendJson(res, 200, {
      success: r.exitCode === 0,
      exitCode: r.exitCode,
      stdout,
      stderr,
      durationMs: r.durationMs,
      ...(truncated ? { truncated } : {}),
      ...("sessionExited" in r && r.sessionExited ? { sessionExited: true } : {}),
    });
  }

  private async readFile(res: ServerResponse, path: string): Promise<void> {
    const f = await files.openForRead(path);
    spanStreams(res);
    res.writeHead(200, { "content-type": f.mimeType, "x-burrow-size": f.size, ...(f.known ? { "content-length": f.size } : {}) });
    // A read that fails half-way cuts the response off (the client sees it incomplete) rather than leaving it open.
    f.stream.on("error", (err) => res.destroy(err));
    res.on("close", () => f.stream.destroy());
    f.stream.pipe(res);
    await new Promise((r) => res.on("close", r));
  }
}
