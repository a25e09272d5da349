import type { ProcessInfo, ProcessLogEvent } from "../contract/index.js";
import { BurrowApiError } from "./errors.js";
import type { Transport } from "./transport.js";

export interface WaitForPortOptions {
  mode?: "tcp" | "http";
  path?: string;
  /** Accepted status: a code or a range such as "200-399" (the default). */
  status?: number | string;
  timeout?: number;
}

const enc = encodeURIComponent;

/** Wait for a port inside a sandbox to accept connections (tcp) or answer (http). */
export async function waitForPort(t: Transport, sandboxId: string, port: number, opts: WaitForPortOptions = {}): Promise<{ port: number; readyAfterMs: number; status?: number }> {
  const q = new URLSearchParams({ mode: opts.mode ?? "tcp", timeoutMs: String(opts.timeout ?? 30_000) });
  if (opts.path) q.set("path", opts.path);
  if (opts.status !== undefined) q.set("status", String(opts.status));
  return t.json("GET", `/v1/sandboxes/${enc(sandboxId)}/ports/${port}/ready?${q}`);
}

/** Follow a process's log: what it printed so far, then live output, then its exit. */
export async function* streamProcessLogs(t: Transport, sandboxId: string, id: string, opts: { since?: number; signal?: AbortSignal } = {}): AsyncGenerator<ProcessLogEvent> {
  const q = `follow=true${opts.since ? `&since=${opts.since}` : ""}`;
  for await (const e of t.sse("GET", `/v1/sandboxes/${enc(sandboxId)}/processes/${enc(id)}/logs?${q}`, undefined, opts.signal)) yield e.data as ProcessLogEvent;
}

/** A background process in a sandbox. */
export class Process {
  constructor(
    private readonly t: Transport,
    readonly sandboxId: string,
    private last: ProcessInfo,
  ) {}

  get id(): string {
    return this.last.id;
  }
  get pid(): number | undefined {
    return this.last.pid;
  }
  /** As of the last answer from the server; `refresh()` asks again. */
  get status(): ProcessInfo["status"] {
    return this.last.status;
  }
  get exitCode(): number | null {
    return this.last.exitCode;
  }
  get info(): ProcessInfo {
    return this.last;
  }

  private get base(): string {
    return `/v1/sandboxes/${enc(this.sandboxId)}/processes/${enc(this.id)}`;
  }

  async refresh(): Promise<ProcessInfo> {
    this.last = await this.t.json("GET", this.base);
    return this.last;
  }

  /** Signal the whole tree (SIGTERM, then SIGKILL after a grace period); resolves once it is gone. */
  async kill(signal: string = "SIGTERM"): Promise<ProcessInfo> {
    this.last = await this.t.json("DELETE", `${this.base}?signal=${enc(signal)}`);
    return this.last;
  }

  async getLogs(): Promise<{ stdout: string; stderr: string; droppedBytes: number }> {
    return this.t.json("GET", `${this.base}/logs`);
  }

  streamLogs(opts: { since?: number; signal?: AbortSignal } = {}): AsyncGenerator<ProcessLogEvent> {
    return streamProcessLogs(this.t, this.sandboxId, this.id, opts);
  }

  /**
   * Wait for a line of stdout or stderr that contains the string or matches the
   * pattern (output already printed counts). Fails if the process exits first
   * or the time runs out.
   */
  async waitForLog(pattern: string | RegExp, timeout = 30_000): Promise<{ line: string; match: RegExpMatchArray | null; stream: "stdout" | "stderr" }> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeout);
    const partial = { stdout: "", stderr: "" };
    const test = (line: string) => (typeof pattern === "string" ? (line.includes(pattern) ? null : undefined) : (line.match(pattern) ?? undefined));
    try {
      for await (const e of this.streamLogs({ signal: ctl.signal })) {
        if (e.type === "stdout" || e.type === "stderr") {
          const lines = (partial[e.type] + e.data).split("\n");
          partial[e.type] = lines.pop()!;
          // A partial last line counts too: prompts often end without a newline.
          for (const line of [...lines, partial[e.type]]) {
            const m = test(line);
            if (m !== undefined) return { line, match: m, stream: e.type };
          }
        } else if (e.type === "exit") {
          this.last = { ...this.last, status: e.status, exitCode: e.exitCode };
          throw new BurrowApiError(409, { code: "PROCESS_EXITED", message: `process ${this.id} exited with ${e.exitCode} before printing ${String(pattern)}`, exitCode: e.exitCode });
        } else if (e.type === "error") {
          throw new BurrowApiError(502, { code: e.code, message: e.message });
        }
      }
      throw new BurrowApiError(502, { code: "RUNTIME_UNAVAILABLE", message: "the log stream ended early" });
    } catch (err) {
      if (ctl.signal.aborted) throw new BurrowApiError(408, { code: "WAIT_TIMEOUT", message: `${String(pattern)} did not appear in the output of ${this.id} within ${timeout} ms` });
      throw err;
    } finally {
      clearTimeout(timer);
      ctl.abort();
    }
  }

  /** Wait until the process ends; returns its final state. */
  async waitForExit(timeout = 60_000): Promise<ProcessInfo> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeout);
    try {
      for await (const e of this.streamLogs({ signal: ctl.signal })) {
        if (e.type === "exit") return this.refresh();
        if (e.type === "error") throw new BurrowApiError(502, { code: e.code, message: e.message });
      }
      return this.refresh();
    } catch (err) {
      if (ctl.signal.aborted) throw new BurrowApiError(408, { code: "WAIT_TIMEOUT", message: `process ${this.id} was still running after ${timeout} ms` });
      throw err;
    } finally {
      clearTimeout(timer);
      ctl.abort();
    }
  }

  /** Wait for a port inside the sandbox (checked from inside, every few ms). */
  waitForPort(port: number, opts: WaitForPortOptions = {}): Promise<{ port: number; readyAfterMs: number; status?: number }> {
    return waitForPort(this.t, this.sandboxId, port, opts);
  }
}
