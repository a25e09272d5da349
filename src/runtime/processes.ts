import { spawn, type ChildProcess } from "node:child_process";
import { randomHex } from "./random.js";
import { BurrowError } from "../contract/errors.js";
import { checkCwd, osSignal, SHELL } from "./exec.js";
import { LogBuffer } from "./log-buffer.js";
import { killTree } from "./process-tree.js";
import { viaEnter } from "./enter.js";

export type ProcessStatus = "starting" | "running" | "completed" | "failed" | "killed";

export interface ProcessInfo {
  id: string;
  pid: number | undefined;
  command: string;
  cwd: string;
  status: ProcessStatus;
  exitCode: number | null;
  startedAt: string;
  endedAt: string | null;
  sessionId: string | null;
}

export interface StartOptions {
  command: string;
  cwd: string;
  env: Record<string, string>;
  processId?: string;
  sessionId?: string;
}

/** Seconds between SIGTERM and SIGKILL when a process is killed. */
export const KILL_GRACE_MS = 3000;

/** A background process: runs on between API calls, keeps its logs, ends with its whole tree. */
export class ManagedProcess {
  readonly logs = new LogBuffer();
  readonly info: ProcessInfo;
  private readonly child: ChildProcess;
  private readonly exitListeners = new Set<(info: ProcessInfo) => void>();
  private killRequested = false;
  private killTimer: NodeJS.Timeout | undefined;

  constructor(id: string, opts: StartOptions) {
    this.info = {
      id,
      pid: undefined,
      command: opts.command,
      cwd: opts.cwd,
      status: "starting",
      exitCode: null,
      startedAt: new Date().toISOString(),
      endedAt: null,
      sessionId: opts.sessionId ?? null,
    };
    this.child = spawn(...viaEnter(SHELL, ["-c", opts.command]), { cwd: opts.cwd, env: opts.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    this.info.pid = this.child.pid;
    if (this.child.pid !== undefined) this.info.status = "running";
    this.child.stdout!.setEncoding("utf8").on("data", (d: string) => this.logs.push("stdout", d));
    this.child.stderr!.setEncoding("utf8").on("data", (d: string) => this.logs.push("stderr", d));
    this.child.on("error", (err) => {
      this.logs.push("stderr", `${err.message}\n`);
      this.finish(127, null);
    });
    this.child.on("exit", (code, sig) => {
      // Let the pipes drain, unless a daemonised child keeps them open.
      const t = setTimeout(() => this.finish(code, sig), 100);
      this.child.once("close", () => {
        clearTimeout(t);
        this.finish(code, sig);
      });
    });
  }

  get done(): boolean {
    return this.info.endedAt !== null;
  }

  onExit(listener: (info: ProcessInfo) => void): () => void {
    if (this.done) {
      listener(this.info);
      return () => {};
    }
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  /**
   * Signal the whole tree. SIGTERM (the default) is followed by SIGKILL after a
   * grace period for whatever is still alive, so a process that traps SIGTERM
   * still ends.
   */
  kill(signal: NodeJS.Signals = "SIGTERM", graceMs = KILL_GRACE_MS): void {
    const pid = this.child.pid;
    if (this.done || pid === undefined) return;
    this.killRequested = true;
    killTree(pid, signal);
    if (signal !== "SIGKILL" && !this.killTimer) {
      this.killTimer = setTimeout(() => {
        if (!this.done) killTree(pid, "SIGKILL");
      }, graceMs);
    }
  }

  private finish(code: number | null, sig: NodeJS.Signals | null): void {
    if (this.done) return;
    clearTimeout(this.killTimer);
    // The tree dies with its leader: nothing it started outlives it.
    if (this.child.pid !== undefined) killTree(this.child.pid, "SIGKILL", false);
    this.info.exitCode = code ?? 128 + (sig ? osSignal(sig) : 9);
    this.info.status = this.killRequested ? "killed" : this.info.exitCode === 0 ? "completed" : "failed";
    this.info.endedAt = new Date().toISOString();
    for (const l of this.exitListeners) l(this.info);
    this.exitListeners.clear();
  }
}

/** The sandbox's background processes, by id. Finished ones are kept until the list is pruned. */
export class ProcessTable {
  private readonly procs = new Map<string, ManagedProcess>();
  private static readonly KEEP_FINISHED = 200;

  start(opts: Omit<StartOptions, "cwd"> & { cwd: string }): ManagedProcess {
    checkCwd(opts.cwd);
    const id = opts.processId ?? `proc-${randomHex(5)}`;
    const existing = this.procs.get(id);
    if (existing && !existing.done)
      throw new BurrowError("PROCESS_EXISTS", `a process with id ${id} is still running: kill it first or pick another id`, { processId: id });
    const p = new ManagedProcess(id, opts);
    this.procs.set(id, p);
    this.prune();
    return p;
  }

  get(id: string): ManagedProcess {
    const p = this.procs.get(id);
    if (!p) throw new BurrowError("PROCESS_NOT_FOUND", `no process ${id}; list them with GET /processes`, { processId: id });
    return p;
  }

  list(): ProcessInfo[] {
    return [...this.procs.values()].map((p) => p.info);
  }

  /** Kill every running process (optionally only those of one session). */
  killAll(signal?: NodeJS.Signals, sessionId?: string): number {
    let n = 0;
    for (const p of this.procs.values()) {
      if (p.done || (sessionId !== undefined && p.info.sessionId !== sessionId)) continue;
      p.kill(signal);
      n++;
    }
    return n;
  }

  private prune(): void {
    const finished = [...this.procs.values()].filter((p) => p.done);
    for (const p of finished.slice(0, Math.max(0, finished.length - ProcessTable.KEEP_FINISHED))) this.procs.delete(p.info.id);
  }
}
