/**
 * One SandboxAgent session on one Burrow sandbox: the SDK's SandboxSession
 * methods over burrow/client (exec, files, terminals, git, ports).
 */
import { applyDiff, UserError, type Editor } from "@openai/agents";
import {
  normalizeExposedPort, recordExposedPortEndpoint, SandboxArchiveError, SandboxUnsupportedFeatureError, SandboxWorkspaceReadNotFoundError,
  validateSandboxArchiveLimits, WorkspacePathPolicy,
  type ExecCommandArgs, type ExposedPortEndpoint, type ListDirectoryArgs, type Manifest, type MaterializeEntryArgs, type ReadFileArgs,
  type SandboxArchiveLimits, type SandboxConcurrencyLimits, type SandboxDirectoryEntry, type SandboxExecResult, type SandboxSession,
  type SandboxSessionState, type ViewImageArgs, type WorkspaceArchiveData, type WorkspaceArchiveOptions, type WriteStdinArgs,
} from "@openai/agents/sandbox";
import {
  formatExecResponse, imageOutputFromBytes, MAX_VIEW_IMAGE_BYTES, mergeManifestDelta, mergeManifestEntryDelta, mergeMaterializedEnvironment,
  shellQuote, withExclusiveSandboxManifestMutation,
} from "@openai/agents-core/sandbox/internal";
import type { ToolOutputImage } from "@openai/agents";
import { BurrowApiError, collectBytes, type Burrow, type Sandbox } from "../../client/index.js";
import { materializeEntry, materializeManifest, type MaterializeContext } from "./manifest.js";
import { DEFAULT_EXEC_YIELD_MS, outcome, ProcessRegistry, writeToProcess } from "./processes.js";
import { type LaunchContext, startPty, startStream } from "./launch.js";
import { checkWorkspaceTar } from "./tar.js";
import { emptyTar } from "../../lib/workspace-archive.js";

/** What a Burrow session keeps (and serialises, without any credential). */
export interface BurrowSandboxSessionState extends SandboxSessionState {
  manifest: Manifest;
  environment: Record<string, string>;
  /** The Burrow sandbox's name. */
  sandboxId: string;
  /** Whether closing the session destroys the sandbox (it made a fresh one), or leaves it (a named one). */
  ownsSandbox: boolean;
  image?: string;
  /** Ports the agent may publish; empty means any. */
  configuredExposedPorts?: number[];
  /** bash, when the sandbox has it (probed once); commands without a `shell` run in it. */
  defaultShell?: string;
}

const PTY_YIELD_MIN_MS = 250;
const PTY_YIELD_MAX_MS = 30_000;
const rand = () => Math.random().toString(36).slice(2, 10);

export class BurrowSandboxSession implements SandboxSession<BurrowSandboxSessionState> {
  readonly state: BurrowSandboxSessionState;
  readonly sandbox: Sandbox;
  private readonly processes = new ProcessRegistry();
  private archiveLimits: SandboxArchiveLimits | null | undefined;
  private readonly concurrency: { manifestEntries: number; localDirFiles: number };
  private closed: Promise<void> | undefined;

  constructor(
    private readonly burrow: Burrow,
    state: BurrowSandboxSessionState,
    opts: { archiveLimits?: SandboxArchiveLimits | null; concurrencyLimits?: SandboxConcurrencyLimits } = {},
  ) {
    this.state = state;
    this.sandbox = burrow.sandbox(state.sandboxId);
    this.setArchiveLimits(opts.archiveLimits);
    this.concurrency = { manifestEntries: opts.concurrencyLimits?.manifestEntries ?? 4, localDirFiles: opts.concurrencyLimits?.localDirFiles ?? 4 };
  }

  setArchiveLimits(limits?: SandboxArchiveLimits | null): void {
    validateSandboxArchiveLimits(limits);
    this.archiveLimits = limits;
  }

  supportsPty(): boolean {
    return true;
  }

  /** Burrow wakes a sleeping sandbox on the next call, so any sandbox that still exists counts as running. */
  async running(): Promise<boolean> {
    try {
      await this.burrow.get(this.state.sandboxId);
      return true;
    } catch (err) {
      if (err instanceof BurrowApiError && err.status === 404) return false;
      throw err;
    }
  }

  // ---- paths ----

  private policy(): WorkspacePathPolicy {
    return new WorkspacePathPolicy({ root: this.state.manifest.root, extraPathGrants: this.state.manifest.extraPathGrants });
  }

  /** An absolute path inside the manifest root (or a granted path); relative paths are taken from the root. */
  resolvePath(path: string | undefined, forWrite = false): string {
    return this.policy().resolve(path, { forWrite }).path;
  }

  /** The path as the model should see it: relative to the root when inside it. */
  private logicalPath(abs: string): string {
    const r = this.policy().resolve(abs);
    return r.workspaceRelativePath ?? r.path;
  }

  // ---- commands ----

  /** Run a shell script as root in the sandbox, for the session's own housekeeping; throws with its output on failure. */
  async sh(script: string, what: string): Promise<string> {
    const r = await this.sandbox.exec(["/bin/sh", "-c", script]);
    if (r.exitCode !== 0) throw new UserError(`BurrowSandboxClient could not ${what} in sandbox ${this.state.sandboxId} (exit ${r.exitCode}): ${(r.stderr || r.stdout).trim().slice(0, 2000)}`);
    return r.stdout;
  }

  private async shellFor(shell: string | undefined): Promise<string> {
    if (shell) return shell;
    if (!this.state.defaultShell) {
      const r = await this.sandbox.exec(["/bin/sh", "-c", "test -x /bin/bash && echo /bin/bash || echo /bin/sh"]);
      this.state.defaultShell = r.stdout.trim() || "/bin/sh";
    }
    return this.state.defaultShell;
  }

  private async argvFor(args: ExecCommandArgs): Promise<string[]> {
    const shell = await this.shellFor(args.shell);
    const inner = [shell, args.login === false ? "-c" : "-lc", args.cmd];
    return args.runAs ? ["runuser", "-u", args.runAs, "--", ...inner] : inner;
  }

  private workdir(workdir: string | undefined): string {
    return this.resolvePath(workdir ?? "");
  }

  async exec(args: ExecCommandArgs): Promise<SandboxExecResult> {
    const start = Date.now();
    const cwd = this.workdir(args.workdir);
    const argv = await this.argvFor(args);
    if (args.tty) {
      const p = await startPty(this.launchContext(), argv, cwd);
      await p.settle(Math.min(PTY_YIELD_MAX_MS, Math.max(PTY_YIELD_MIN_MS, args.yieldTimeMs ?? DEFAULT_EXEC_YIELD_MS)));
      return outcome(this.processes, p, start, args.maxOutputTokens);
    }
    const p = startStream(this.launchContext(), argv, cwd);
    await p.settle(args.yieldTimeMs ?? DEFAULT_EXEC_YIELD_MS);
    return outcome(this.processes, p, start, args.maxOutputTokens);
  }

  async execCommand(args: ExecCommandArgs): Promise<string> {
    return formatExecResponse(await this.exec(args));
  }

  async writeStdin(args: WriteStdinArgs): Promise<string> {
    return writeToProcess(this.processes, args);
  }

  /** A command over the streamed exec API; leaving the stream (Ctrl-C, stop) ends the command. */
  private launchContext(): LaunchContext {
    return { sandbox: this.sandbox, environment: this.state.environment, sh: (script, what) => this.sh(script, what) };
  }

  // ---- files ----

  private async readBytes(abs: string, runAs?: string): Promise<Uint8Array> {
    if (runAs) {
      const r = await this.sandbox.exec(["runuser", "-u", runAs, "--", "base64", "-w0", "--", abs]);
      if (r.exitCode !== 0) {
        if (/No such file/i.test(r.stderr)) throw new SandboxWorkspaceReadNotFoundError(`file not found: ${abs}`, { provider: "burrow", path: abs });
        throw new UserError(`could not read ${abs} as ${runAs}: ${r.stderr.trim()}`);
      }
      return new Uint8Array(Buffer.from(r.stdout, "base64"));
    }
    try {
      return await collectBytes(await this.sandbox.readFileStream(abs));
    } catch (err) {
      if (err instanceof BurrowApiError && err.code === "FILE_NOT_FOUND") throw new SandboxWorkspaceReadNotFoundError(`file not found: ${abs}`, { provider: "burrow", path: abs });
      throw err;
    }
  }

  async readFile(args: ReadFileArgs): Promise<Uint8Array> {
    const bytes = await this.readBytes(this.resolvePath(args.path), args.runAs);
    return typeof args.maxBytes === "number" && bytes.byteLength > args.maxBytes ? bytes.subarray(0, args.maxBytes) : bytes;
  }

  async viewImage(args: ViewImageArgs): Promise<ToolOutputImage> {
    const abs = this.resolvePath(args.path);
    const st = await this.sandbox.stat(abs).catch((err) => {
      if (err instanceof BurrowApiError && err.code === "FILE_NOT_FOUND") throw new UserError(`Image file not found: ${args.path}`);
      throw err;
    });
    if (st.type !== "file") throw new UserError(`Image path is not a file: ${args.path}`);
    if (st.size > MAX_VIEW_IMAGE_BYTES) throw new UserError(`Image file exceeds the 10 MB limit: ${args.path}`);
    return imageOutputFromBytes(args.path, await this.readBytes(abs, args.runAs));
  }

  async listDir(args: ListDirectoryArgs): Promise<SandboxDirectoryEntry[]> {
    const abs = this.resolvePath(args.path);
    const files = await this.sandbox.listFiles(abs, { includeHidden: true });
    return files.map((f) => ({
      name: f.name,
      path: this.logicalPath(f.path.startsWith("/") ? f.path : `${abs}/${f.name}`),
      type: f.type === "file" ? "file" : f.type === "directory" ? "dir" : "other",
    }));
  }

  async pathExists(path: string, runAs?: string): Promise<boolean> {
    const abs = this.resolvePath(path);
    if (runAs) return (await this.sandbox.exec(["runuser", "-u", runAs, "--", "test", "-e", abs])).exitCode === 0;
    return this.sandbox.exists(abs);
  }

  async directoryExists(path: string, runAs?: string): Promise<boolean> {
    const abs = this.resolvePath(path);
    if (runAs) return (await this.sandbox.exec(["runuser", "-u", runAs, "--", "test", "-d", abs])).exitCode === 0;
    try {
      return (await this.sandbox.stat(abs)).type === "directory";
    } catch (err) {
      if (err instanceof BurrowApiError && err.status === 404) return false;
      throw err;
    }
  }

  /** The filesystem capability's editor: V4A diffs applied to files read and written through the files API. */
  createEditor(runAs?: string): Editor {
    const write = async (abs: string, content: string, mode?: string) => {
      if (runAs) {
        const tmp = `/tmp/.burrow-edit-${rand()}`;
        await this.sandbox.writeFile(tmp, content);
        await this.sh(`runuser -u ${shellQuote(runAs)} -- sh -c 'mkdir -p -- "$(dirname -- "$1")" && cat > "$1"' sh ${shellQuote(abs)} < ${tmp}; s=$?; rm -f ${tmp}; exit $s`, `write ${abs} as ${runAs}`);
      } else await this.sandbox.writeFile(abs, content, mode ? { mode } : {});
    };
    const modeOf = async (abs: string) => (await this.sandbox.stat(abs).catch(() => undefined))?.mode;
    return {
      createFile: async (op) => {
        const abs = this.resolvePath(op.path, true);
        if (await this.pathExists(abs, runAs)) throw new UserError(`Cannot create file because it already exists: ${op.path}`);
        await write(abs, applyDiff("", op.diff, "create"));
        return { status: "completed", output: `Created ${op.path}` };
      },
      updateFile: async (op) => {
        const abs = this.resolvePath(op.path, true);
        const dest = op.moveTo ? this.resolvePath(op.moveTo, true) : abs;
        let current: string;
        try {
          current = new TextDecoder().decode(await this.readBytes(abs, runAs));
        } catch (err) {
          if (err instanceof SandboxWorkspaceReadNotFoundError) throw new UserError(`Cannot update file because it does not exist: ${op.path}`);
          throw err;
        }
        await write(dest, applyDiff(current, op.diff), await modeOf(abs));
        if (dest !== abs) await this.sandbox.deleteFile(abs);
        return { status: "completed", output: op.moveTo ? `Updated ${op.path} and moved it to ${op.moveTo}` : `Updated ${op.path}` };
      },
      deleteFile: async (op) => {
        const abs = this.resolvePath(op.path, true);
        if (runAs) await this.sh(`runuser -u ${shellQuote(runAs)} -- rm -f -- ${shellQuote(abs)}`, `delete ${abs} as ${runAs}`);
        else await this.sandbox.deleteFile(abs);
        return { status: "completed", output: `Deleted ${op.path}` };
      },
    };
  }

  // ---- manifest ----

  private materializer(): MaterializeContext {
    return { sbx: this.sandbox, resolve: (p) => this.resolvePath(p, true), sh: (s, w) => this.sh(s, w), concurrency: this.concurrency };
  }

  /** Make the root and everything the manifest names (used by create, with the state's own manifest). */
  async materialize(manifest: Manifest): Promise<void> {
    // One round trip: the root, and which shell commands without a `shell` get.
    const shell = await this.sh(`mkdir -p -- ${shellQuote(manifest.root)} && { test -x /bin/bash && echo /bin/bash || echo /bin/sh; }`, `create ${manifest.root}`);
    this.state.defaultShell = shell.trim() === "/bin/bash" ? "/bin/bash" : "/bin/sh";
    if (Object.keys(manifest.entries).length || manifest.users.length || manifest.groups.length) await materializeManifest(this.materializer(), manifest);
  }

  /** Add a manifest's entries, users and environment to a running session. */
  async applyManifest(manifest: Manifest, _runAs?: string): Promise<void> {
    await withExclusiveSandboxManifestMutation(this.state, async () => {
      if (manifest.root !== this.state.manifest.root)
        throw new UserError(`a manifest with root ${manifest.root} cannot be applied to a session whose root is ${this.state.manifest.root}; start a new session for another root`);
      const next = mergeManifestDelta(this.state.manifest, manifest);
      const environment = await mergeMaterializedEnvironment(this.state.manifest, next, this.state.environment);
      await this.materialize(manifest);
      this.state.manifest = next;
      this.state.environment = environment;
    });
  }

  async materializeEntry(args: MaterializeEntryArgs): Promise<void> {
    await withExclusiveSandboxManifestMutation(this.state, async () => {
      const rel = this.logicalPath(this.resolvePath(args.path, true));
      const next = mergeManifestEntryDelta(this.state.manifest, rel, structuredClone(args.entry));
      await materializeEntry(this.materializer(), rel, args.entry);
      this.state.manifest = next;
    });
  }

  // ---- workspace archives ----

  private protectedPaths(): string[] {
    return [...this.state.manifest.ephemeralPersistencePaths()].sort();
  }

  /** A tar of the manifest root, ephemeral entries left out. */
  async persistWorkspace(): Promise<Uint8Array> {
    const root = this.state.manifest.root;
    if (root === "/") throw new SandboxArchiveError("BurrowSandboxClient refuses to archive the whole filesystem (manifest root /)", { provider: "burrow" });
    const skip = this.protectedPaths();
    if (skip.includes("")) return emptyTar();
    try {
      return await this.sandbox.readArchive(root, { exclude: skip });
    } catch (err) {
      if (err instanceof BurrowApiError && err.code === "FILE_NOT_FOUND") return emptyTar();
      throw new SandboxArchiveError(`BurrowSandboxClient could not persist the workspace: ${(err as Error).message}`, { provider: "burrow", sandboxId: this.state.sandboxId });
    }
  }

  /**
   * Replace the workspace with an archive's contents. The archive is checked
   * here (limits, no member outside the root), and again by the runtime as it
   * unpacks into a staging directory that is swapped in only when whole: a
   * bad archive leaves the workspace as it was.
   */
  async hydrateWorkspace(data: WorkspaceArchiveData, options: WorkspaceArchiveOptions = {}): Promise<void> {
    const root = this.state.manifest.root;
    if (root === "/") throw new SandboxArchiveError("BurrowSandboxClient refuses to unpack over the whole filesystem (manifest root /)", { provider: "burrow" });
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data instanceof Uint8Array ? data : new Uint8Array(data);
    checkWorkspaceTar(bytes, options.archiveLimits === undefined ? this.archiveLimits : options.archiveLimits, this.protectedPaths());
    try {
      await this.sandbox.writeArchive(root, bytes);
    } catch (err) {
      throw new SandboxArchiveError(`BurrowSandboxClient could not hydrate the workspace: ${(err as Error).message}`, { provider: "burrow", sandboxId: this.state.sandboxId });
    }
  }

  // ---- ports ----

  /** A Burrow preview URL for a port inside the sandbox. */
  async resolveExposedPort(port: number): Promise<ExposedPortEndpoint> {
    const p = normalizeExposedPort(port);
    const allowed = this.state.configuredExposedPorts ?? [];
    if (allowed.length && !allowed.includes(p))
      throw new SandboxUnsupportedFeatureError(`port ${p} is not among the exposedPorts this session was created with (${allowed.join(", ")})`, { provider: "burrow", port: p });
    const info = await this.sandbox.exposePort(p);
    const url = new URL(info.url);
    return recordExposedPortEndpoint(this.state, { host: url.hostname, port: Number(url.port || (url.protocol === "https:" ? 443 : 80)), tls: url.protocol === "https:", url: info.url }, p);
  }

  // ---- lifecycle ----

  /** End the session's live commands and terminals; the sandbox stays. */
  async stop(): Promise<void> {
    await this.processes.terminateAll();
  }

  async shutdown(): Promise<void> {
    await this.stop();
  }

  /** Stop, and destroy the sandbox when this session made it (a named sandbox is left for later). */
  async delete(): Promise<void> {
    this.closed ??= (async () => {
      await this.stop();
      if (!this.state.ownsSandbox) return;
      try {
        await this.sandbox.destroy();
      } catch (err) {
        if (!(err instanceof BurrowApiError && err.status === 404)) throw err;
      }
    })();
    await this.closed;
  }

  async close(): Promise<void> {
    await this.delete();
  }
}
