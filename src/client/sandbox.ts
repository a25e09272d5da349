import type {
  EnsureSandboxBody, ExecEvent, ExecResult, FileEntry, FileStat, SandboxInfo,
} from "../contract/index.js";
import { CodeContexts, type CodeContextOptions, type RunCodeOptions } from "./code-contexts.js";
import { BurrowApiError, checkSandboxId } from "./errors.js";
import { Process, streamProcessLogs, waitForPort, type WaitForPortOptions } from "./process.js";
import { openTerminal, type TerminalConnection, type TerminalOptions } from "./terminal.js";
import type { Transport } from "./transport.js";
import { collectBytes, Transfers } from "./transfers.js";
import { watchPath, type WatchOptions } from "./watch.js";
import type { CodeEvent, Command, ExecOptions, ExposedPortInfo, ReadFileResult } from "./types.js";
import type { SandboxUsage } from "../contract/usage.js";
import type { ArchiveWritten, BackupInfo, CodeContextInfo, CreateBackupBody, EgressAuditEvent, EgressPatchBody, EgressPolicyBody, EgressPolicyInfo, Execution, ProcessInfo, ProcessLogEvent, RestoreBackupBody, SnapshotInfo, WatchEvent } from "../contract/index.js";

const enc = encodeURIComponent;

/**
 * One sandbox, addressed by name. Nothing happens on the network until the
 * first call; the server creates or wakes the sandbox on demand.
 */
export class Sandbox {
  private ensured: Promise<unknown> | undefined;

  constructor(
    private readonly t: Transport,
    readonly id: string,
    private readonly options?: EnsureSandboxBody,
    protected readonly session?: string,
  ) {
    checkSandboxId(id);
    this.code = new CodeContexts(t, `/v1/sandboxes/${enc(id)}`);
    this.transfers = new Transfers(t, `/v1/sandboxes/${enc(id)}`);
  }

  /** What logging a handle shows: its name, never the credentials or creation options (env may hold secrets). */
  toJSON(): { id: string } {
    return { id: this.id };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `${this.constructor.name} { id: ${JSON.stringify(this.id)} }`;
  }

  private get base(): string {
    return `/v1/sandboxes/${enc(this.id)}`;
  }

  private readonly code: CodeContexts;
  private readonly transfers: Transfers;

  /** With creation options, the first call makes sure they are applied. */
  private async ready(): Promise<void> {
    if (this.options && !this.session) {
      this.ensured ??= this.ensure(this.options).catch((err) => {
        this.ensured = undefined;
        throw err;
      });
      await this.ensured;
    }
  }

  /** Create or wake the sandbox with these options (PUT). */
  ensure(options: EnsureSandboxBody = {}): Promise<SandboxInfo & { created: boolean }> {
    return this.t.json("PUT", this.base, options);
  }

  info(): Promise<SandboxInfo> {
    return this.t.json("GET", this.base);
  }

  /** What this sandbox used: active CPU seconds, memory now and at peak, its own disk, egress bytes, time running and asleep. */
  usage(): Promise<SandboxUsage> {
    return this.t.json("GET", `${this.base}/usage`);
  }

  async exec(command: Command, opts: ExecOptions = {}): Promise<ExecResult> {
    await this.ready();
    const body = this.execBody(command, opts);
    if (!opts.stream && !opts.onOutput) return this.t.json("POST", `${this.base}/exec`, body, opts.signal);
    let stdout = "";
    let stderr = "";
    for await (const e of this.execStream(command, opts)) {
      if (e.type === "stdout" || e.type === "stderr") {
        if (e.type === "stdout") stdout += e.data;
        else stderr += e.data;
        opts.onOutput?.(e.type, e.data);
      } else if (e.type === "complete") {
        return { success: e.exitCode === 0, exitCode: e.exitCode, stdout, stderr, durationMs: e.durationMs, ...(e.sessionExited ? { sessionExited: true } : {}) };
      } else if (e.type === "error") {
        throw new BurrowApiError(e.code === "EXEC_TIMEOUT" ? 408 : 500, { code: e.code, message: e.message, stdout, stderr });
      }
    }
    throw new BurrowApiError(502, { code: "RUNTIME_UNAVAILABLE", message: "the stream ended before the command finished" });
  }

  /** Events as they happen: start, stdout, stderr, then complete or error. */
  async *execStream(command: Command, opts: Omit<ExecOptions, "stream" | "onOutput"> = {}): AsyncGenerator<ExecEvent> {
    await this.ready();
    for await (const ev of this.t.sse("POST", `${this.base}/exec`, this.execBody(command, opts), opts.signal)) yield ev.data as ExecEvent;
  }

  private execBody(command: Command, opts: ExecOptions) {
    return {
      ...(Array.isArray(command) ? { argv: command } : { command }),
      cwd: opts.cwd,
      env: opts.env,
      stdin: opts.stdin,
      timeoutMs: opts.timeoutMs,
      sessionId: this.session,
    };
  }

  /** Write a file: a string (UTF-8), bytes, or a stream of any size. Parents are created. */
  async writeFile(path: string, content: string | Uint8Array | ReadableStream<Uint8Array>, opts: { mode?: string | number; encoding?: "utf-8" | "base64" } = {}): Promise<{ path: string; size: number }> {
    await this.ready();
    return this.transfers.writeFile(path, content, opts);
  }

  /** Read a file as UTF-8 text (default) or base64. */
  async readFile(path: string, opts: { encoding?: "utf-8" | "base64" } = {}): Promise<ReadFileResult> {
    await this.ready();
    return this.transfers.readFile(path, opts);
  }

  /** Read a file as a byte stream, for files of any size. */
  async readFileStream(path: string): Promise<ReadableStream<Uint8Array>> {
    await this.ready();
    return this.transfers.readFileStream(path);
  }

  /** A tar stream of a directory (members `./…`); `exclude` takes paths relative to it. */
  async readArchiveStream(path: string, opts: { exclude?: string[] } = {}): Promise<ReadableStream<Uint8Array>> {
    await this.ready();
    return this.transfers.readArchiveStream(path, opts);
  }

  /** A directory as tar bytes in memory; see readArchiveStream for any size. */
  async readArchive(path: string, opts: { exclude?: string[] } = {}): Promise<Uint8Array> {
    return collectBytes(await this.readArchiveStream(path, opts));
  }

  /**
   * Replace a directory's contents with a tar archive's (made if missing). Every
   * member is checked first (no absolute or `..` paths, links out, hard links or
   * devices; the limits given): a refused or broken archive changes nothing.
   */
  async writeArchive(path: string, archive: Uint8Array | ReadableStream<Uint8Array>, opts: { maxMembers?: number; maxExtractedBytes?: number } = {}): Promise<ArchiveWritten> {
    await this.ready();
    return this.transfers.writeArchive(path, archive, opts);
  }

  async listFiles(path: string, opts: { recursive?: boolean; includeHidden?: boolean } = {}): Promise<FileEntry[]> {
    await this.ready();
    const r = await this.t.json<{ files: FileEntry[] }>("GET", `${this.base}/files/list?path=${enc(path)}&recursive=${!!opts.recursive}&includeHidden=${!!opts.includeHidden}`);
    return r.files;
  }

  async stat(path: string): Promise<FileStat> {
    await this.ready();
    return this.t.json("GET", `${this.base}/files/stat?path=${enc(path)}`);
  }

  async exists(path: string): Promise<boolean> {
    await this.ready();
    return (await this.t.json<{ exists: boolean }>("GET", `${this.base}/files/exists?path=${enc(path)}`)).exists;
  }

  async mkdir(path: string, opts: { recursive?: boolean } = {}): Promise<void> {
    await this.ready();
    await this.t.json("POST", `${this.base}/files/mkdir`, { path, recursive: opts.recursive ?? false });
  }

  /** Delete a file; a directory only with `recursive: true`. */
  async deleteFile(path: string, opts: { recursive?: boolean } = {}): Promise<void> {
    await this.ready();
    await this.t.json("DELETE", `${this.base}/files?path=${enc(path)}&recursive=${!!opts.recursive}`);
  }

  async moveFile(from: string, to: string, opts: { overwrite?: boolean } = {}): Promise<void> {
    await this.ready();
    await this.t.json("POST", `${this.base}/files/move`, { from, to, overwrite: opts.overwrite ?? false });
  }

  renameFile(from: string, to: string): Promise<void> {
    return this.moveFile(from, to);
  }

  /** A persistent shell: `cd`, `export`, functions and aliases last between its commands. */
  async createSession(opts: { id?: string; cwd?: string; env?: Record<string, string> } = {}): Promise<ExecutionSession> {
    await this.ready();
    const r = await this.t.json<{ id: string }>("POST", `${this.base}/sessions`, opts);
    return new ExecutionSession(this.t, this.id, r.id);
  }

  async deleteSession(id: string): Promise<void> {
    await this.t.json("DELETE", `${this.base}/sessions/${enc(id)}`);
  }

  /** Start a background process; returns at once. It runs on between calls until it ends or is killed. */
  async startProcess(command: string, opts: { cwd?: string; env?: Record<string, string | null>; processId?: string } = {}): Promise<Process> {
    await this.ready();
    const info = await this.t.json<ProcessInfo>("POST", `${this.base}/processes`, { command, ...opts, sessionId: this.session });
    return new Process(this.t, this.id, info);
  }

  async listProcesses(): Promise<ProcessInfo[]> {
    return (await this.t.json<{ processes: ProcessInfo[] }>("GET", `${this.base}/processes`)).processes;
  }

  async getProcess(id: string): Promise<Process> {
    return new Process(this.t, this.id, await this.t.json<ProcessInfo>("GET", `${this.base}/processes/${enc(id)}`));
  }

  /** Kill a process and everything it started; resolves once they are gone. */
  async killProcess(id: string, signal = "SIGTERM"): Promise<ProcessInfo> {
    return this.t.json("DELETE", `${this.base}/processes/${enc(id)}?signal=${enc(signal)}`);
  }

  async killAllProcesses(signal = "SIGTERM"): Promise<number> {
    return (await this.t.json<{ killed: number }>("DELETE", `${this.base}/processes?signal=${enc(signal)}`)).killed;
  }

  async getProcessLogs(id: string): Promise<{ stdout: string; stderr: string; droppedBytes: number }> {
    return this.t.json("GET", `${this.base}/processes/${enc(id)}/logs`);
  }

  streamProcessLogs(id: string, opts: { since?: number; signal?: AbortSignal } = {}): AsyncGenerator<ProcessLogEvent> {
    return streamProcessLogs(this.t, this.id, id, opts);
  }

  /** Wait until a port inside the sandbox accepts connections (tcp) or answers (http). */
  async waitForPort(port: number, opts: WaitForPortOptions = {}) {
    await this.ready();
    return waitForPort(this.t, this.id, port, opts);
  }

  /**
   * Publish a port as a preview URL (`http://<port>-<sandbox>-<token>.<previewHost>:<serverPort>/`).
   * A given token makes the URL stable. The URL survives sleep and restarts, but
   * the server behind it does not: start it again after a sleep.
   */
  async exposePort(port: number, opts: { name?: string; token?: string } = {}): Promise<ExposedPortInfo> {
    await this.ready();
    return this.t.json("POST", `${this.base}/ports/${port}`, opts);
  }

  /** Withdraw a preview URL; its token stops working at once. Withdrawing twice is fine. */
  async unexposePort(port: number): Promise<void> {
    await this.t.json("DELETE", `${this.base}/ports/${port}`);
  }

  async getExposedPorts(): Promise<ExposedPortInfo[]> {
    return (await this.t.json<{ ports: ExposedPortInfo[] }>("GET", `${this.base}/ports`)).ports;
  }

  /**
   * Watch a path for changes (inotify inside the sandbox). Yields
   * `{type: "watching"}` once the watch is in place, then
   * `{type: create|modify|delete|move, path, isDirectory, from?}` until the
   * loop breaks or `signal` aborts, which frees the watcher. Excludes `.git`
   * and `node_modules` unless `exclude` says otherwise.
   */
  async *watch(path: string, opts: WatchOptions = {}): AsyncGenerator<WatchEvent | { type: "watching"; path: string }> {
    await this.ready();
    yield* watchPath(this.t, this.base, path, opts);
  }

  /**
   * Clone a git repository (http/https, through the egress proxy). Credentials
   * in the URL are used for the clone and never written to .git/config or logs.
   */
  async gitCheckout(url: string, opts: { branch?: string; targetDir?: string; depth?: number; timeoutMs?: number } = {}): Promise<{ url: string; branch: string; targetDir: string; commit: string }> {
    await this.ready();
    return this.t.json("POST", `${this.base}/git/checkout`, { url, ...opts });
  }

  /** Open a real terminal (a PTY running the shell) over WebSocket. */
  async terminal(opts: TerminalOptions = {}): Promise<TerminalConnection> {
    await this.ready();
    return openTerminal(this.t.url, this.t.token, this.id, { ...opts, sessionId: opts.sessionId ?? this.session });
  }

  /** A persistent interpreter (python, javascript or typescript): variables, imports and functions last between runs. */
  async createCodeContext(opts: CodeContextOptions = {}): Promise<CodeContextInfo> {
    await this.ready();
    return this.code.create(opts);
  }

  listCodeContexts(): Promise<CodeContextInfo[]> {
    return this.code.list();
  }

  deleteCodeContext(context: string | CodeContextInfo): Promise<void> {
    return this.code.delete(context);
  }

  /**
   * Run code in a context (a default one per handle when none is given).
   * The value of the last expression is a result; results carry every
   * representation the object offers (text, html, png, ...). A timeout or
   * `signal` interrupts the cell and the context keeps its state.
   */
  async runCode(code: string, opts: RunCodeOptions = {}): Promise<Execution> {
    await this.ready();
    return this.code.run(code, opts);
  }

  /** Events as they happen: stdout, stderr, result, error, then complete. */
  async *runCodeStream(code: string, opts: RunCodeOptions = {}): AsyncGenerator<CodeEvent> {
    await this.ready();
    yield* this.code.runStream(code, opts);
  }

  /** Set (string) or unset (null) variables for every later command in the sandbox. */
  async setEnvVars(env: Record<string, string | null>): Promise<void> {
    await this.ready();
    await this.t.json("POST", `${this.base}/env`, { env });
  }

  /** Stop its processes now; the disk stays (frozen into a snapshot with persist "snapshot") and the next call wakes it. */
  async sleep(opts: { persist?: "disk" | "snapshot" } = {}): Promise<SandboxInfo> {
    return this.t.json("POST", `${this.base}/sleep`, opts);
  }

  /** Replace this sandbox's egress policy with `policy` (what it leaves out is dropped). Answers the combined rules. */
  async setEgress(policy: EgressPolicyBody): Promise<EgressPolicyInfo> {
    return this.t.json("PUT", `${this.base}/egress`, policy);
  }

  /** Change only the fields given; `byHost` entries merge (null removes one). Answers the combined rules. */
  async updateEgress(patch: EgressPatchBody): Promise<EgressPolicyInfo> {
    return this.t.json("PATCH", `${this.base}/egress`, patch);
  }

  /** Send requests for `host[:port]` through the server's handler `handler` (null stops that). */
  async setOutboundByHost(host: string, handler: string | null): Promise<EgressPolicyInfo> {
    return this.updateEgress({ byHost: { [host]: handler } });
  }

  getEgress(): Promise<EgressPolicyInfo> {
    return this.t.json("GET", `${this.base}/egress`);
  }

  /** Recent outbound connections and intercepted requests, oldest first. */
  async egressAudit(opts: { limit?: number } = {}): Promise<EgressAuditEvent[]> {
    return (await this.t.json<{ events: EgressAuditEvent[] }>("GET", `${this.base}/egress/audit?limit=${opts.limit ?? 200}`)).events;
  }

  /** Freeze the disk into a snapshot (processes keep running); restore or fork it with `burrow.fork`. */
  async snapshot(): Promise<SnapshotInfo> {
    await this.ready();
    return this.t.json("POST", `${this.base}/snapshots`);
  }

  /** Archive a directory to the blob store. */
  async createBackup(opts: CreateBackupBody): Promise<BackupInfo> {
    await this.ready();
    return this.t.json("POST", `${this.base}/backups`, opts);
  }

  /** Put a backup (of this or another sandbox) back, at its own path or at `dir`. */
  async restoreBackup(backup: string | BackupInfo, opts: RestoreBackupBody = {}): Promise<{ id: string; dir: string; files: number }> {
    await this.ready();
    const id = typeof backup === "string" ? backup : backup.id;
    return this.t.json("POST", `${this.base}/backups/${enc(id)}/restore`, opts);
  }

  /** Remove processes, disk and name. */
  async destroy(): Promise<void> {
    await this.t.json("DELETE", this.base);
  }
}

/** A sandbox view whose commands all run in one persistent shell. */
export class ExecutionSession extends Sandbox {
  constructor(
    private readonly transport: Transport,
    sandboxId: string,
    readonly sessionId: string,
  ) {
    super(transport, sandboxId, undefined, sessionId);
  }

  override async setEnvVars(env: Record<string, string | null>): Promise<void> {
    await this.transport.json("POST", `/v1/sandboxes/${enc(this.id)}/sessions/${enc(this.sessionId)}/env`, { env });
  }

  /** Delete this session's shell; the same id can be created again, clean. */
  async delete(): Promise<void> {
    await this.deleteSession(this.sessionId);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.delete().catch(() => {});
  }
}
