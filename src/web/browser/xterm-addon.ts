import type { IDisposable, ITerminalAddon, Terminal } from "@xterm/xterm";

/** `stopped`: the sandbox went to sleep or stopped; the next keystroke wakes it and reattaches. */
export type TerminalStatus = "connecting" | "open" | "reconnecting" | "stopped" | "exited" | "failed";

export interface BurrowTerminalOptions {
  /**
   * The Burrow server (`http://127.0.0.1:7070`, the page's own origin when it
   * is signed in with the session cookie), or a whole terminal link from
   * `POST /v1/sandboxes/:id/terminal-links` (`ws://...?link=...`).
   */
  url: string;
  /** The sandbox, when `url` is the server (a terminal link names its own). */
  sandboxId?: string;
  /** Attach to this terminal (its recent output is replayed), or name a new one. */
  terminalId?: string;
  /** Told whenever the connection changes. */
  onStatus?: (status: TerminalStatus, detail?: { terminalId?: string; exitCode?: number }) => void;
}

const MAX_FAILURES = 6;

/**
 * An xterm.js addon that attaches a `Terminal` to a sandbox's terminal over a
 * WebSocket: keystrokes go in as bytes, output comes out, the size follows the
 * terminal's, and a dropped connection reattaches to the same terminal, whose
 * recent output the server replays onto a cleared screen. When the sandbox
 * itself stopped (it went to sleep: any close but 1006 or 1012), the addon waits for the
 * next keystroke before reattaching, since reattaching wakes the sandbox.
 */
export class BurrowTerminalAddon implements ITerminalAddon {
  private term: Terminal | undefined;
  private ws: WebSocket | undefined;
  private readonly subs: IDisposable[] = [];
  private terminalId: string | undefined;
  private failures = 0;
  private disposed = false;
  private exited = false;
  private everOpened = false;
  private stopped = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private readonly encoder = new TextEncoder();

  constructor(private readonly opts: BurrowTerminalOptions) {
    this.terminalId = opts.terminalId;
  }

  /** The terminal's id once attached (keep it to reattach later). */
  get id(): string | undefined {
    return this.terminalId;
  }

  activate(term: Terminal): void {
    this.term = term;
    this.subs.push(
      term.onData((d) => (this.stopped ? this.resume() : this.send(this.encoder.encode(d)))),
      term.onBinary((d) => this.send(Uint8Array.from(d, (c) => c.charCodeAt(0) & 0xff))),
      term.onResize(({ cols, rows }) => this.sendJson({ type: "resize", cols, rows })),
    );
    this.connect();
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.retry);
    for (const s of this.subs.splice(0)) s.dispose();
    this.ws?.close();
  }

  private address(): string {
    const term = this.term!;
    const u = new URL(this.opts.url, typeof location === "undefined" ? undefined : location.href);
    if (u.protocol === "http:" || u.protocol === "https:") {
      if (!this.opts.sandboxId) throw new Error("BurrowTerminalAddon: give sandboxId with a server URL");
      u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
      u.pathname = `${u.pathname.replace(/\/$/, "")}/v1/sandboxes/${encodeURIComponent(this.opts.sandboxId)}/terminal`;
    }
    u.searchParams.set("cols", String(term.cols));
    u.searchParams.set("rows", String(term.rows));
    if (this.terminalId) u.searchParams.set("terminalId", this.terminalId);
    return u.toString();
  }

  private connect(): void {
    if (this.disposed) return;
    this.opts.onStatus?.(this.everOpened ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.address());
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    let replayNext = this.everOpened;
    ws.onmessage = (ev) => {
      if (typeof ev.data !== "string") {
        this.term?.write(new Uint8Array(ev.data as ArrayBuffer));
        return;
      }
      const msg = JSON.parse(ev.data) as { type: string; id?: string; code?: number };
      if (msg.type === "ready") {
        this.terminalId = msg.id;
        this.failures = 0;
        // The replay follows: start from a clean screen so nothing shows twice.
        if (replayNext) this.term?.reset();
        replayNext = false;
        this.everOpened = true;
        this.opts.onStatus?.("open", { terminalId: msg.id });
      } else if (msg.type === "exit") {
        this.exited = true;
        this.opts.onStatus?.("exited", { terminalId: this.terminalId, exitCode: msg.code ?? 0 });
      }
    };
    ws.onclose = (ev) => {
      if (this.disposed || this.exited) return;
      // 1006 (the connection dropped) and 1012 (the server restarts) reattach at once; any other close of a
      // terminal that was open means its sandbox stopped.
      if (this.everOpened && ev.code !== 1006 && ev.code !== 1012) {
        this.stopped = true;
        this.term?.write("\r\n\x1b[2m[the sandbox stopped; press a key to wake it and reconnect]\x1b[0m\r\n");
        return this.opts.onStatus?.("stopped");
      }
      this.failures++;
      if (this.failures >= MAX_FAILURES) return this.opts.onStatus?.("failed");
      this.opts.onStatus?.("reconnecting");
      this.retry = setTimeout(() => this.connect(), Math.min(250 * 2 ** this.failures, 5000));
    };
  }

  private resume(): void {
    this.stopped = false;
    this.failures = 0;
    this.connect();
  }

  private send(bytes: Uint8Array): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(bytes);
  }

  private sendJson(msg: unknown): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }
}
