import { spawn, type ChildProcess } from "node:child_process";
import { viaEnter } from "./enter.js";
import { randomHex } from "./random.js";
import type { ExecBody, ExecEvent } from "../contract/index.js";
import { BurrowError } from "../contract/errors.js";
import { checkCwd, SHELL, type RunOutcome } from "./exec.js";
import { killTree } from "./process-tree.js";
import { MarkerScanner, RS } from "./marker-scanner.js";


/** Quote a string for a POSIX shell. */
export const shq = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

interface Pending {
  token: string;
  emit: (e: ExecEvent) => void;
  outDone: boolean;
  errDone: boolean;
  exitCode: number;
  resolve: (r: { exitCode: number; sessionExited: boolean }) => void;
}

/**
 * A persistent shell. Each command is read into a variable with a here-doc and
 * `eval`ed in the shell itself, so `cd`, `export`, functions and aliases last.
 * After it, the shell prints a marker with a per-command random token on stdout
 * (with the exit code) and on stderr; output before the markers is the
 * command's. Commands run one at a time, in the order they arrived.
 */
export class Session {
  readonly id: string;
  readonly createdAt = new Date().toISOString();
  private shell: ChildProcess | undefined;
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly scanners = { stdout: new MarkerScanner(40), stderr: new MarkerScanner(40) };
  private disposed = false;

  constructor(
    id: string,
    private readonly cwd: string,
    private env: Record<string, string>,
  ) {
    this.id = id;
    checkCwd(cwd);
  }

  /** Queue a command; per-command env and cwd apply in a subshell and do not leak. */
  run(body: ExecBody, emit: (e: ExecEvent) => void): Promise<RunOutcome & { sessionExited: boolean }> {
    const next = this.queue.then(() => this.runNow(body, emit));
    this.queue = next.catch(() => {});
    return next;
  }

  /** Set (string) or unset (null) variables in the live shell and for fresh shells. */
  async setEnv(changes: Record<string, string | null>): Promise<void> {
    const lines: string[] = [];
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) {
        delete this.env[k];
        lines.push(`unset ${k}`);
      } else {
        this.env[k] = v;
        lines.push(`export ${k}=${shq(v)}`);
      }
    }
    if (this.shell) await this.run({ command: lines.join("\n") }, () => {});
  }

  /** The shell's current directory and exported variables, read from the live shell. */
  async liveState(): Promise<{ cwd: string; env: Record<string, string> }> {
    let out = "";
    const r = await this.run({ command: `printf '%s\\0' "$PWD"; env -0` }, (e) => {
      if (e.type === "stdout") out += e.data;
    });
    if (r.exitCode !== 0) return { cwd: this.cwd, env: { ...this.env } };
    const [cwd, ...vars] = out.split("\0").filter(Boolean);
    const env: Record<string, string> = {};
    for (const v of vars) {
      const i = v.indexOf("=");
      if (i > 0 && !v.startsWith("__burrow") && !v.startsWith("_=")) env[v.slice(0, i)] = v.slice(i + 1);
    }
    return { cwd: cwd ?? this.cwd, env };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.stopShell();
  }

  private ensureShell(): ChildProcess {
    if (this.shell) return this.shell;
    const sh = spawn(...viaEnter(SHELL, SHELL.endsWith("bash") ? ["--noprofile", "--norc"] : []), {
      cwd: this.cwd,
      env: this.env,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    sh.stdin!.on("error", () => {});
    sh.stdout!.setEncoding("utf8").on("data", (d: string) => this.onOutput("stdout", d));
    sh.stderr!.setEncoding("utf8").on("data", (d: string) => this.onOutput("stderr", d));
    sh.on("exit", (code, sig) => {
      const exitCode = code ?? 128 + (sig === "SIGKILL" ? 9 : 15);
      // Let the pipes drain, unless a background job keeps them open.
      const t = setTimeout(() => this.onShellExit(sh, exitCode), 50);
      sh.once("close", () => {
        clearTimeout(t);
        this.onShellExit(sh, exitCode);
      });
    });
    if (SHELL.endsWith("bash")) sh.stdin!.write("shopt -s expand_aliases\n");
    this.shell = sh;
    return sh;
  }

  private async runNow(body: ExecBody, emit: (e: ExecEvent) => void): Promise<RunOutcome & { sessionExited: boolean }> {
    if (this.disposed) throw new BurrowError("SESSION_NOT_FOUND", `session ${this.id} was deleted`);
    if (body.cwd) checkCwd(body.cwd);
    const started = performance.now();
    const sh = this.ensureShell();
    const token = randomHex(12);
    const command = body.command ?? body.argv!.map(shq).join(" ");

    let run = `eval "$__burrow_cmd"`;
    if (body.cwd || body.env) {
      const setup: string[] = [];
      if (body.cwd) setup.push(`cd ${shq(body.cwd)} || exit 1`);
      for (const [k, v] of Object.entries(body.env ?? {})) setup.push(v === null ? `unset ${k}` : `export ${k}=${shq(v)}`);
      run = `( ${setup.join("; ")}; eval "$__burrow_cmd" )`;
    }
    const stdin = body.stdin !== undefined ? `< <(printf %s ${shq(Buffer.from(body.stdin).toString("base64"))} | base64 -d)` : "< /dev/null";
    const script =
      `IFS= read -r -d '' __burrow_cmd <<'BURROW_${token}'\n${command}\nBURROW_${token}\n` +
      `${run} ${stdin}\n` +
      `printf '${RS}%s %d${RS}' ${token} $? ; printf '${RS}%s${RS}' ${token} >&2\n`;

    emit({ type: "start", pid: sh.pid, timestamp: new Date().toISOString() });
    const done = new Promise<{ exitCode: number; sessionExited: boolean }>((resolve) => {
      this.pending = { token, emit, outDone: false, errDone: false, exitCode: 0, resolve };
    });
    sh.stdin!.write(script);

    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    if (body.timeoutMs) {
      timer = setTimeout(() => {
        timedOut = true;
        // Kill what the command started; if the shell itself is stuck in a builtin loop, restart it.
        if (sh.pid) killTree(sh.pid, "SIGKILL", false);
        setTimeout(() => {
          if (this.pending?.token === token) this.stopShell();
        }, 300);
      }, body.timeoutMs);
    }
    const r = await done;
    clearTimeout(timer);
    return { ...r, timedOut, durationMs: Math.round((performance.now() - started) * 100) / 100 };
  }

  private onOutput(stream: "stdout" | "stderr", data: string): void {
    const p = this.pending;
    if (!p) return; // output of a background job between commands: nobody asked for it
    // stdout's marker carries the exit code; stderr's only says the command is over.
    const marker = stream === "stdout" ? new RegExp(`${RS}${p.token} (\\d+)${RS}`) : new RegExp(`${RS}${p.token}${RS}`);
    const { text, match } = this.scanners[stream].push(data, marker);
    if (text) p.emit({ type: stream, data: text });
    if (match && stream === "stdout") {
      p.outDone = true;
      p.exitCode = Number(match[1]);
    } else if (match) p.errDone = true;
    if (p.outDone && p.errDone) {
      this.pending = undefined;
      p.resolve({ exitCode: p.exitCode, sessionExited: false });
    }
  }

  private onShellExit(sh: ChildProcess, code: number): void {
    if (this.shell !== sh) return;
    this.shell = undefined;
    const p = this.pending;
    this.pending = undefined;
    const flush = (stream: "stdout" | "stderr", buf: string) => buf && p?.emit({ type: stream, data: buf });
    flush("stdout", this.scanners.stdout.flush());
    flush("stderr", this.scanners.stderr.flush());
    p?.resolve({ exitCode: code, sessionExited: true });
  }

  private stopShell(): void {
    const sh = this.shell;
    if (sh?.pid) killTree(sh.pid, "SIGKILL");
  }
}
