import { spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import type { ExecBody, ExecEvent } from "../contract/index.js";
import { BurrowError } from "../contract/errors.js";
import { applyEnv } from "./env.js";
import { killTree } from "./process-tree.js";
import { viaEnter } from "./enter.js";
import { execFailure, passable, spawner } from "./spawner.js";

/** Buffered output is capped; streams are not. */
export const MAX_BUFFERED = 32 * 1024 * 1024;

export const SHELL = existsSync("/bin/bash") ? "/bin/bash" : "/bin/sh";

export interface RunOutcome {
  exitCode: number;
  durationMs: number;
  timedOut: boolean;
}

export function checkCwd(cwd: string): void {
  let st;
  try {
    st = statSync(cwd);
  } catch {
    throw new BurrowError("INVALID_PATH", `cwd ${cwd} does not exist in the sandbox; create it first or pick another`, { path: cwd });
  }
  if (!st.isDirectory()) throw new BurrowError("INVALID_PATH", `cwd ${cwd} is not a directory`, { path: cwd });
}

/**
 * Run one command as its own fresh process (argv directly, a string through
 * the shell) in its own process group. Output goes to `emit` as it arrives.
 * A timeout or abort kills the whole tree, including daemonised grandchildren.
 */
export async function runOnce(
  body: ExecBody,
  baseEnv: Record<string, string>,
  defaultCwd: string,
  emit: (e: ExecEvent) => void,
  signal?: AbortSignal,
): Promise<RunOutcome> {
  const cwd = body.cwd ?? defaultCwd;
  checkCwd(cwd);
  const env = applyEnv(baseEnv, body.env);
  const [file, args] = body.argv ? [body.argv[0]!, body.argv.slice(1)] : [SHELL, ["-c", body.command!]];
  const run: Launch = { file, args, cwd, env, body, emit, signal };
  // Commands without stdin go through burrow-spawner when it runs (it takes no input); the rest, and any it cannot start, spawn here.
  if (body.stdin === undefined && passable([file, ...args], env) && spawner.available()) {
    const outcome = await runViaSpawner(run);
    if (outcome) return outcome;
  }
  return spawnOnce(run);
}

/** One command to start: the program, its arguments, where, with what environment, and where its events go. */
interface Launch {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  body: ExecBody;
  emit: (e: ExecEvent) => void;
  signal?: AbortSignal;
}

/** Through burrow-spawner; undefined when it could not start the command (spawn it yourself). */
async function runViaSpawner({ file, args, cwd, env, body, emit, signal }: Launch): Promise<RunOutcome | undefined> {
  const started = performance.now();
  let pid: number | undefined;
  let timedOut = false;
  const cmd = spawner.run(
    [file, ...args],
    cwd,
    env,
    (p) => {
      pid = p;
      emit({ type: "start", pid: p, timestamp: new Date().toISOString() });
    },
    (stream, data) => emit({ type: stream, data }),
  );
  // Before the pid is known, closing the connection has the spawner kill the command's group.
  const kill = () => (pid ? killTree(pid, "SIGKILL") : cmd.close());
  const timer = body.timeoutMs ? setTimeout(() => ((timedOut = true), kill()), body.timeoutMs) : undefined;
  signal?.addEventListener("abort", kill, { once: true });
  if (signal?.aborted) kill();
  try {
    const o = await cmd.outcome;
    if ("fallback" in o) return timedOut || signal?.aborted ? { exitCode: 137, durationMs: elapsed(started), timedOut } : undefined;
    if ("execFailed" in o) {
      // The program itself could not be started: report it as a shell would.
      const { message, exitCode } = execFailure(file, o.execFailed);
      emit({ type: "stderr", data: message });
      return { exitCode, durationMs: elapsed(started), timedOut: false };
    }
    return { exitCode: o.exited, durationMs: elapsed(started), timedOut };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", kill);
  }
}

const elapsed = (since: number) => Math.round((performance.now() - since) * 100) / 100;

/** A fresh process forked from the runtime, through burrow-enter. */
function spawnOnce({ file, args, cwd, env, body, emit, signal }: Launch): Promise<RunOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(...viaEnter(file, args), {
      cwd,
      env,
      detached: true,
      stdio: [body.stdin !== undefined ? "pipe" : "ignore", "pipe", "pipe"],
    });
    let timedOut = false;
    let finished = false;
    const finish = (exitCode: number) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve({ exitCode, durationMs: elapsed(started), timedOut });
    };
    const kill = () => {
      if (child.pid) killTree(child.pid, "SIGKILL");
    };
    const onAbort = () => kill();
    const timer = body.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          kill();
        }, body.timeoutMs)
      : undefined;
    signal?.addEventListener("abort", onAbort, { once: true });

    child.on("error", (err: NodeJS.ErrnoException) => {
      // The program itself could not be started: report it as a shell would.
      const code = err.code === "ENOENT" ? 127 : err.code === "EACCES" ? 126 : 1;
      emit({ type: "stderr", data: `${file}: ${err.code === "ENOENT" ? "command not found" : err.message}\n` });
      finish(code);
    });
    if (child.pid !== undefined) emit({ type: "start", pid: child.pid, timestamp: new Date().toISOString() });
    child.stdout!.setEncoding("utf8").on("data", (d: string) => emit({ type: "stdout", data: d }));
    child.stderr!.setEncoding("utf8").on("data", (d: string) => emit({ type: "stderr", data: d }));
    if (body.stdin !== undefined) {
      child.stdin!.on("error", () => {}); // the command may exit without reading
      child.stdin!.end(body.stdin);
    }
    child.on("exit", (code, sig) => {
      const exitCode = code ?? 128 + (sig ? osSignal(sig) : 9);
      // A daemonised grandchild may hold the pipes open: wait briefly, then stop reading.
      const closeWait = setTimeout(() => {
        child.stdout!.destroy();
        child.stderr!.destroy();
        finish(exitCode);
      }, 50);
      child.on("close", () => {
        clearTimeout(closeWait);
        finish(exitCode);
      });
    });
  });
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };
export function osSignal(sig: string): number {
  return SIGNALS[sig] ?? 9;
}
