import { spawn } from "node:child_process";
import { randomHex } from "./random.js";
import { BurrowError } from "../contract/errors.js";
import { checkCwd, osSignal, SHELL } from "./exec.js";
import { LogBuffer } from "./log-buffer.js";
import { killTree } from "./process-tree.js";
import { viaEnter } from "./enter.js";
import { execFailure, passable, spawner } from "./spawner.js";
import { identityOf, type Identity } from "./users.js";

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
  /** The program and its arguments, started without a shell; `command` is then only what lists show. */
  argv?: string[];
  /** Run as this account (its uid, gid and groups) instead of root. */
  user?: string;
  cwd: string;
  env: Record<string, string>;
  processId?: string;
  sessionId?: string;
}

/** Seconds between SIGTERM and SIGKILL when a process is killed. */
export const KILL_GRACE_MS = 3000;

/** How long output is still read after a process exited, unless a daemonised child keeps the pipes open. */
const DRAIN_MS = 100;

/**
 * A background process: runs on between API calls, keeps its logs, ends with
 * its whole tree. It starts through burrow-spawner when that runs (no fork of
 * the runtime), otherwise as the runtime's own child through burrow-enter.
 */
export class ManagedProcess {
  readonly logs = new LogBuffer();
  readonly info: ProcessInfo;
  /** Resolves once the process runs (its pid is known) or could not start. */
  readonly started: Promise<void>;
  private closeSpawned: (() => void) | undefined;
  private readonly exitListeners = new Set<(info: ProcessInfo) => void>();
  private killRequested = false;
  private pendingSignal: NodeJS.Signals | undefined;
  private readonly onPid = new Set<() => void>();
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
    const argv = opts.argv ?? [SHELL, "-c", opts.command];
    const as = opts.user ? identityOf(opts.user) : undefined;
    // Not through the spawner: the switch to the user is setpriv's (and says what is wrong, for an unknown user).
    const here = opts.user ? ["setpriv", `--reuid=${opts.user}`, `--regid=${opts.user}`, "--init-groups", ...argv] : argv;
    this.started =
      passable(argv, opts.env) && as !== null && spawner.available() ? this.viaSpawner(argv, here, opts, as) : (this.spawnHere(here, opts), Promise.resolve());
  }

  private running(pid: number): void {
    this.info.pid = pid;
    this.info.status = "running";
    for (const w of this.onPid) w();
    this.onPid.clear();
    // A kill asked for while it was starting.
    const signal = this.pendingSignal;
    this.pendingSignal = undefined;
    if (signal) this.kill(signal);
  }

  private async viaSpawner(argv: string[], here: string[], opts: StartOptions, as: Identity | undefined): Promise<void> {
    const cmd = spawner.run(argv, opts.cwd, opts.env, (pid) => this.running(pid), (stream, data) => this.logs.push(stream, data), { graceMs: DRAIN_MS, as });
    this.closeSpawned = cmd.close;
    const outcome = cmd.outcome.then((o) => {
      if ("fallback" in o) {
        // The spawner could not start it: start it here, unless it was killed meanwhile.
        if (this.killRequested) this.finish(137, null);
        else this.spawnHere(here, opts);
      } else if ("execFailed" in o) {
        const { message, exitCode } = execFailure(argv[0]!, o.execFailed);
        this.logs.push("stderr", message);
        this.finish(exitCode, null);
      } else this.finish(o.exited, null);
    });
    // Started: a pid came, or the outcome (a fallback spawn has its pid at once).
    await Promise.race([outcome, new Promise<void>((r) => (this.info.pid !== undefined ? r() : this.onPid.add(r)))]);
  }

  private spawnHere(argv: string[], opts: StartOptions): void {
    const child = spawn(...viaEnter(argv[0]!, argv.slice(1)), { cwd: opts.cwd, env: opts.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    if (child.pid !== undefined) this.running(child.pid);
    child.stdout!.setEncoding("utf8").on("data", (d: string) => this.logs.push("stdout", d));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => this.logs.push("stderr", d));
    child.on("error", (err) => {
      this.logs.push("stderr", `${err.message}\n`);
      this.finish(127, null);
    });
    child.on("exit", (code, sig) => {
      // Let the pipes drain, unless a daemonised child keeps them open.
      const t = setTimeout(() => this.finish(code, sig), DRAIN_MS);
      child.once("close", () => {
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
    if (this.done) return;
    this.killRequested = true;
    const pid = this.info.pid;
    if (pid === undefined) {
      // Still starting in the spawner: it is signalled once its pid is known.
      this.pendingSignal = signal;
      return;
    }
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
    if (this.info.pid !== undefined) killTree(this.info.pid, "SIGKILL", false);
    this.closeSpawned?.();
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

  /** `listed: false` runs it without keeping it here (the warm pool's warm-up: nothing a sandbox's user would see). */
  start(opts: Omit<StartOptions, "cwd"> & { cwd: string }, listed = true): ManagedProcess {
    checkCwd(opts.cwd);
    const id = opts.processId ?? `proc-${randomHex(5)}`;
    const existing = this.procs.get(id);
    if (existing && !existing.done)
      throw new BurrowError("PROCESS_EXISTS", `a process with id ${id} is still running: kill it first or pick another id`, { processId: id });
    const p = new ManagedProcess(id, opts);
    if (!listed) return p;
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
