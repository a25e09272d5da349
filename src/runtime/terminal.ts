import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { randomHex } from "./random.js";
import type { IPty } from "node-pty";
import type { WebSocket, WebSocketServer } from "ws";
import { existsSync } from "node:fs";
import { DEFAULT_CWD } from "./env.js";
import { viaEnter } from "./enter.js";
import type { Session } from "./session.js";

/** Output kept per terminal for viewers that (re)connect. */
const REPLAY_BYTES = 256 * 1024;

/** node-pty and ws load on the first terminal: most sandboxes never open one. */
let modules: Promise<{ pty: typeof import("node-pty"); wss: WebSocketServer }> | undefined;
function load() {
  modules ??= (async () => {
    const pty = await import("node-pty");
    const { WebSocketServer } = await import("ws");
    return { pty, wss: new WebSocketServer({ noServer: true }) };
  })();
  return modules;
}

/** A PTY running a shell; viewers come and go, the shell stays until it exits. */
class Terminal {
  private readonly viewers = new Set<WebSocket>();
  private replay: string[] = [];
  private replayBytes = 0;
  exitCode: number | undefined;

  constructor(
    readonly id: string,
    private readonly pty: IPty,
    private readonly onGone: () => void,
  ) {
    pty.onData((d) => {
      this.replay.push(d);
      this.replayBytes += d.length;
      while (this.replayBytes > REPLAY_BYTES && this.replay.length > 1) this.replayBytes -= this.replay.shift()!.length;
      const frame = Buffer.from(d);
      for (const v of this.viewers) v.send(frame);
    });
    pty.onExit(({ exitCode }) => {
      this.exitCode = exitCode;
      for (const v of this.viewers) {
        v.send(JSON.stringify({ type: "exit", code: exitCode }));
        v.close(1000, "terminal exited");
      }
      this.onGone();
    });
  }

  attach(ws: WebSocket): void {
    this.viewers.add(ws);
    ws.send(JSON.stringify({ type: "ready", id: this.id, cols: this.pty.cols, rows: this.pty.rows }));
    if (this.replay.length) ws.send(Buffer.from(this.replay.join("")));
    ws.on("message", (data, isBinary) => {
      if (isBinary) return void this.pty.write(data.toString());
      try {
        const msg = JSON.parse(data.toString()) as { type?: string; cols?: number; rows?: number; data?: string };
        if (msg.type === "resize" && Number.isInteger(msg.cols) && Number.isInteger(msg.rows) && msg.cols! > 0 && msg.rows! > 0)
          this.pty.resize(Math.min(msg.cols!, 1000), Math.min(msg.rows!, 1000));
        else if (msg.type === "input" && typeof msg.data === "string") this.pty.write(msg.data);
      } catch {
        /* not JSON: ignore rather than kill the terminal */
      }
    });
    ws.on("close", () => this.viewers.delete(ws));
  }

  kill(): void {
    this.pty.kill("SIGKILL");
  }
}

/** The sandbox's terminals by id, served over WebSocket on the runtime socket. */
export class TerminalTable {
  private readonly terminals = new Map<string, Terminal>();

  constructor(
    private readonly env: Record<string, string>,
    private readonly session: (id: string) => Session,
  ) {}

  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const q = Object.fromEntries(new URL(req.url ?? "/", "http://runtime").searchParams);
    const { pty, wss } = await load();
    const id = q.terminalId || `term-${randomHex(4)}`;
    let term = this.terminals.get(id);
    if (!term) {
      const base = q.sessionId ? await this.session(q.sessionId).liveState() : { cwd: DEFAULT_CWD, env: this.env };
      const shell = existsSync("/bin/bash") ? "/bin/bash" : "/bin/sh";
      const p = pty.spawn(...viaEnter(shell, []), {
        name: "xterm-256color",
        cols: Number(q.cols) || 80,
        rows: Number(q.rows) || 24,
        cwd: base.cwd,
        env: { ...base.env, TERM: "xterm-256color", COLORTERM: "truecolor" },
      });
      term = new Terminal(id, p, () => this.terminals.delete(id));
      this.terminals.set(id, term);
    }
    const t = term;
    wss.handleUpgrade(req, socket, head, (ws) => t.attach(ws));
  }

  list(): { id: string }[] {
    return [...this.terminals.keys()].map((id) => ({ id }));
  }
}
