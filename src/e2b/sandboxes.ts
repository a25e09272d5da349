import { BurrowError } from "../contract/index.js";
import { readAll, runtimeError, type RuntimeClient, type SandboxManager } from "../sandboxes/index.js";
import { DEFAULT_USER, provisionScript } from "./users.js";

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** What E2B's process API knows that Burrow's process table does not: the argv as sent, the tag, stdin. */
export interface ProcessMeta {
  processId: string;
  cmd: string;
  args: string[];
  envs: Record<string, string>;
  cwd?: string;
  tag?: string;
  stdin: boolean;
  pty: boolean;
}

export interface CodeContextMeta {
  burrowId: string;
  language: "python" | "javascript" | "typescript";
  cwd: string;
}

interface PerSandbox {
  users: Set<string>;
  processes: Map<number, ProcessMeta>;
  /** Code contexts by E2B id (the adapter's own, so a restart can keep it). */
  contexts: Map<string, CodeContextMeta>;
  /** The E2B id of each language's default context, made on first use. */
  defaults: Map<string, Promise<string>>;
}

/**
 * The adapter's view of Burrow's sandboxes: it never creates one by touching
 * it (an unknown id is an error, not a new sandbox), and it keeps the little
 * it needs per sandbox until the sandbox is destroyed.
 */
export class E2bSandboxes {
  private readonly state = new Map<string, PerSandbox>();

  constructor(readonly manager: SandboxManager) {
    manager.onDestroyed((id) => this.state.delete(id));
  }

  of(id: string): PerSandbox {
    let s = this.state.get(id);
    if (!s) this.state.set(id, (s = { users: new Set(), processes: new Map(), contexts: new Map(), defaults: new Map() }));
    return s;
  }

  /** Forget what was kept for a sandbox whose processes are gone (it slept). */
  resetLive(id: string): void {
    const s = this.state.get(id);
    if (!s) return;
    s.processes.clear();
    s.contexts.clear();
    s.defaults.clear();
  }

  exists(id: string): boolean {
    return this.manager.has(id);
  }

  /** The runtime of an existing sandbox, woken if it sleeps. */
  async runtime(id: string): Promise<RuntimeClient> {
    if (!this.manager.has(id)) throw new BurrowError("SANDBOX_NOT_FOUND", `no sandbox ${id}: it was killed, or never created`, { id });
    return this.manager.runtime(id);
  }

  /** A short helper command as root (provisioning, stdin, stat); its output is buffered. */
  async exec(id: string, command: string, opts: { stdin?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    const rt = await this.runtime(id);
    return rt.json<ExecResult>("POST", "/exec", { command, cwd: "/", timeoutMs: opts.timeoutMs ?? 30_000, ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}) });
  }

  /** Make sure `user` exists before anything runs as it (E2B's base template has it; Burrow's images may not). */
  async ensureUser(id: string, user: string): Promise<void> {
    if (user === "root") return;
    const s = this.of(id);
    if (s.users.has(user)) return;
    const rt = await this.runtime(id);
    const made = await rt.send("POST", "/users", { name: user, create: user === DEFAULT_USER, claimWorkspace: user === DEFAULT_USER });
    // A runtime from before the users route (a sandbox kept running across an upgrade) has no such route.
    if (made.statusCode === 404) {
      made.resume();
      await this.ensureUserByScript(id, user);
    } else if ((made.statusCode ?? 500) >= 400) {
      throw new BurrowError("SANDBOX_START_FAILED", `could not create user ${user} in sandbox ${id}: ${(await runtimeError(made)).message}`);
    } else if (!(JSON.parse(await readAll(made)) as { user: unknown }).user) {
      throw new BurrowError("VALIDATION_FAILED", `there is no user ${user} in sandbox ${id}; create it first (useradd) or use "user" or "root"`);
    }
    s.users.add(user);
  }

  private async ensureUserByScript(id: string, user: string): Promise<void> {
    if (user === DEFAULT_USER) {
      const r = await this.exec(id, provisionScript(user));
      if (r.exitCode !== 0) throw new BurrowError("SANDBOX_START_FAILED", `could not create user ${user} in sandbox ${id}: ${r.stderr.trim()}`);
    } else {
      const r = await this.exec(id, `id -u ${user} >/dev/null 2>&1`);
      if (r.exitCode !== 0) throw new BurrowError("VALIDATION_FAILED", `there is no user ${user} in sandbox ${id}; create it first (useradd) or use "user" or "root"`);
    }
  }
}
