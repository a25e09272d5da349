import type { IncomingMessage, ServerResponse } from "node:http";
import { BurrowError } from "../contract/errors.js";
import { readBody, sendJson, startNdjson } from "../lib/http-json.js";
import { applyEnv, DEFAULT_CWD } from "./env.js";
import { waitForPort } from "./port-wait.js";
import { killLeftovers } from "./process-tree.js";
import { spawner } from "./spawner.js";
import type { ManagedProcess, ProcessTable } from "./processes.js";
import type { Session } from "./session.js";

const SIGNALS = new Set(["SIGTERM", "SIGKILL", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"]);

interface StartBody {
  command: string;
  /** Without a shell, and as another account (the server's E2B gateway; the public API sends only `command`). */
  argv?: string[];
  user?: string;
  cwd?: string;
  env?: Record<string, string | null>;
  processId?: string;
  sessionId?: string;
  /** Answer with NDJSON: `started` (the process), then its output and exit (the server's E2B gateway). */
  follow?: boolean;
  /** Not kept in the process list (the warm pool's warm-up). */
  unlisted?: boolean;
}

/** Background processes and port readiness. Bodies were validated by the server. */
export class ProcessRoutes {
  constructor(
    private readonly table: ProcessTable,
    private readonly env: Record<string, string>,
    private readonly session: (id: string) => Session,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse, parts: string[], q: Record<string, string>): Promise<void> {
    const [head, id, sub] = parts;
    if (head === "ports") return this.ready(req, res, Number(id), q);
    if (req.method === "POST" && !id) return this.start(req, res);
    if (req.method === "GET" && !id) return sendJson(res, 200, { processes: this.table.list() });
    if (req.method === "DELETE" && !id) {
      const signal = this.signal(q.signal);
      const running = this.table.list().filter((p) => p.endedAt === null).map((p) => this.table.get(p.id));
      running.forEach((p) => p.kill(signal));
      await Promise.all(running.map(exited));
      // Then whatever commands left behind, started by Burrow or not; the runtime's own shells
      // (sessions, terminals, code contexts) and commands still running stay.
      // The spawner's handlers and the commands they run now are spared like the runtime's own children.
      const leftovers = killLeftovers((p) => p.ppid === process.pid || spawner.owns(p.pid));
      return sendJson(res, 200, { killed: running.length + leftovers, leftovers });
    }
    const p = this.table.get(id!);
    if (req.method === "GET" && !sub) return sendJson(res, 200, p.info);
    if (req.method === "GET" && sub === "logs") return this.logs(req, res, p, q);
    if (req.method === "DELETE" && !sub) {
      p.kill(this.signal(q.signal));
      await exited(p);
      return sendJson(res, 200, p.info);
    }
    throw new BurrowError("NOT_FOUND", `runtime has no route ${req.method} /${parts.join("/")}`);
  }

  private signal(s: string | undefined): NodeJS.Signals {
    const sig = (s ?? "SIGTERM").toUpperCase();
    const full = sig.startsWith("SIG") ? sig : `SIG${sig}`;
    if (!SIGNALS.has(full)) throw new BurrowError("VALIDATION_FAILED", `signal ${s} is not one of ${[...SIGNALS].join(", ")}`);
    return full as NodeJS.Signals;
  }

  private async start(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const b = (await readBody(req)) as StartBody;
    // A process started for a session begins where that session's shell is now, with its variables.
    const base = b.sessionId ? await this.session(b.sessionId).liveState() : { cwd: DEFAULT_CWD, env: this.env };
    const p = this.table.start({
      command: b.command,
      ...(b.argv?.length ? { argv: b.argv, ...(b.user ? { user: b.user } : {}) } : {}),
      cwd: b.cwd ?? base.cwd,
      env: applyEnv(base.env, b.env),
      processId: b.processId,
      sessionId: b.sessionId,
    }, !b.unlisted);
    await p.started;
    if (!b.follow) return sendJson(res, 200, p.info);
    // Started and followed in one request (E2B's Start): the process first, then its output and exit as `logs?follow` sends them.
    const send = startNdjson(res);
    send({ type: "started", process: p.info });
    this.follow(res, p, 0, send);
  }

  private logs(req: IncomingMessage, res: ServerResponse, p: ManagedProcess, q: Record<string, string>): void {
    const follow = q.follow === "true" || q.follow === "1";
    if (!follow) {
      return sendJson(res, 200, {
        id: p.info.id,
        stdout: p.logs.text("stdout"),
        stderr: p.logs.text("stderr"),
        droppedBytes: p.logs.droppedBytes,
        status: p.info.status,
        exitCode: p.info.exitCode,
      });
    }
    this.follow(res, p, Number(q.since ?? 0), startNdjson(res));
  }

  /** Output kept since `since`, then live output, then the exit, as NDJSON events. */
  private follow(res: ServerResponse, p: ManagedProcess, since: number, send: (event: object) => void): void {
    if (p.logs.droppedBytes && since < (p.logs.since(0)[0]?.seq ?? 0))
      send({ type: "dropped", bytes: p.logs.droppedBytes, message: `${p.logs.droppedBytes} bytes of the oldest output were dropped to keep the log bounded` });
    for (const e of p.logs.since(since)) send({ type: e.stream, seq: e.seq, data: e.data });
    const unsubscribe = p.logs.subscribe((e) => send({ type: e.stream, seq: e.seq, data: e.data }));
    const offExit = p.onExit((info) => {
      send({ type: "exit", exitCode: info.exitCode, status: info.status });
      res.end();
    });
    // The response's close: the request's can come as soon as its body is read (a POST's).
    res.on("close", () => {
      unsubscribe();
      offExit();
    });
  }

  private async ready(req: IncomingMessage, res: ServerResponse, port: number, q: Record<string, string>): Promise<void> {
    const [lo, hi] = (q.status ?? "200-399").split("-").map(Number);
    const abort = new AbortController();
    res.on("close", () => abort.abort());
    const r = await waitForPort(
      { port, mode: q.mode === "http" ? "http" : "tcp", path: q.path ?? "/", status: [lo!, hi ?? lo!], timeoutMs: Number(q.timeoutMs ?? 30_000) },
      abort.signal,
    );
    sendJson(res, 200, { ready: true, ...r });
    void req;
  }
}

const exited = (p: ManagedProcess) => new Promise<void>((r) => p.onExit(() => r()));
