import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { StringDecoder } from "node:string_decoder";
import { ENTER } from "./enter.js";
import type { Identity } from "./users.js";

/** burrow-spawner (init/spawner.c), beside the runtime. */
const SPAWNER = "/.burrow/runtime/spawner";
/**
 * In the sandbox's /dev (a tmpfs only its root may write, kept out of
 * snapshots), not the run directory, which the sandbox cannot write. The
 * socket is the root's alone (no group or other bits): other users of the sandbox cannot
 * have commands started as root through it.
 */
const SOCKET = "/dev/.burrow-spawner.sock";
/** After the spawner dies, how long before the runtime starts another (commands spawn themselves meanwhile). */
const RESTART_AFTER_MS = 1000;

/** How a command given to the spawner ended: it ran and exited (code, or 128 + signal), its program could not be executed, or the spawner could not start it (spawn it yourself). */
export type SpawnOutcome = { exited: number } | { execFailed: number } | { fallback: true };

export interface SpawnedCommand {
  outcome: Promise<SpawnOutcome>;
  /** Stop relaying; the spawner kills the command's process group if it still runs. */
  close(): void;
}

/**
 * Commands and background processes started by burrow-spawner instead of forking the runtime:
 * the spawner is small and already in the user pids cgroup, so a command
 * costs two cheap forks and one exec instead of a fork of this Node process,
 * an exec of burrow-enter and a cgroup move. It starts with the runtime
 * (and again after it died), in the background; until it is ready,
 * and whenever it fails, commands spawn as before.
 */
export class Spawner {
  private child: ChildProcess | undefined;
  private ready = false;
  private diedAt = 0;
  /** Handlers and their commands, so "kill the leftovers" spares what is still running. */
  private readonly running = new Set<number>();

  constructor(private readonly binary = SPAWNER, private readonly socket = SOCKET) {}

  /** Start the spawner now, at the runtime's start, so it is up by the sandbox's first command. */
  begin(): void {
    if (!this.child && existsSync(this.binary)) this.start();
  }

  /** True when a command can go through the spawner now; otherwise starts it for the next one. */
  available(): boolean {
    if (this.ready) return true;
    if (!this.child && Date.now() - this.diedAt > RESTART_AFTER_MS && existsSync(this.binary)) setImmediate(() => this.start());
    return false;
  }

  /** Processes the spawner runs for commands now (its handlers and their commands). */
  owns(pid: number): boolean {
    return this.running.has(pid) || pid === this.child?.pid;
  }

  private start(): void {
    if (this.child) return;
    const [file, args] = existsSync(ENTER) ? [ENTER, [this.binary, this.socket]] : [this.binary, [this.socket]];
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "inherit"] });
    this.child = child;
    child.stdout!.once("data", () => (this.ready = child === this.child));
    child.on("error", () => this.died(child));
    child.on("exit", () => this.died(child));
  }

  private died(child: ChildProcess): void {
    if (child !== this.child) return;
    this.child = undefined;
    this.ready = false;
    this.diedAt = Date.now();
  }

  /**
   * Start `argv` in `cwd` with exactly `env`, as root or as `opts.as`; stdin is
   * empty. `onStart` has the pid before any output comes to `onOutput`, as
   * text. Once the command has exited, its output is read for at most
   * `opts.graceMs` more (a daemonised grandchild may hold the pipes open).
   */
  run(
    argv: readonly string[],
    cwd: string,
    env: Record<string, string>,
    onStart: (pid: number) => void,
    onOutput: (stream: "stdout" | "stderr", data: string) => void,
    opts: { graceMs?: number; as?: Identity } = {},
  ): SpawnedCommand {
    const envList = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const ids = opts.as ? `${opts.as.uid} ${opts.as.gid} ${opts.as.groups.join(",")}` : "";
    const body = Buffer.from([String(opts.graceMs ?? 50), ids, cwd, String(argv.length), ...argv, String(envList.length), ...envList].map((f) => `${f}\0`).join(""));
    const head = Buffer.alloc(4);
    head.writeUInt32LE(body.length);
    const sock: Socket = connect(this.socket);
    sock.write(Buffer.concat([head, body]));

    let resolve!: (o: SpawnOutcome) => void;
    const outcome = new Promise<SpawnOutcome>((r) => (resolve = r));
    const decoders = { O: new StringDecoder("utf8"), E: new StringDecoder("utf8") };
    const mine: number[] = [];
    let pending: Buffer = Buffer.alloc(0);
    let begun = false;
    let ended = false;
    const end = (o: SpawnOutcome) => {
      if (ended) return;
      ended = true;
      for (const pid of mine) this.running.delete(pid);
      for (const [k, d] of Object.entries(decoders)) {
        const rest = d.end();
        if (rest) onOutput(k === "O" ? "stdout" : "stderr", rest);
      }
      resolve(o);
      sock.destroy();
    };

    sock.on("data", (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 5 && !ended) {
        const len = pending.readUInt32LE(1);
        if (pending.length < 5 + len) break;
        const type = String.fromCharCode(pending[0]!);
        const payload = pending.subarray(5, 5 + len);
        pending = pending.subarray(5 + len);
        if (type === "O" || type === "E") onOutput(type === "O" ? "stdout" : "stderr", decoders[type].write(payload));
        else if (type === "P") {
          const [pid, handler] = String(payload).split(" ").map(Number);
          mine.push(pid!, handler!);
          for (const p of mine) this.running.add(p);
          begun = true;
          onStart(pid!);
        } else if (type === "F") {
          const [errno, where] = String(payload).split(" ");
          // Not forked (no pid left for the spawner) or no such cwd: the runtime's own spawn says what a spawn says.
          end(where === "exec" ? { execFailed: Number(errno) } : { fallback: true });
        } else if (type === "X") {
          const [code, sig] = String(payload).split(" ").map(Number);
          end({ exited: code! >= 0 ? code! : 128 + (sig ?? 9) });
        }
      }
    });
    // The spawner gone: before the command began, spawn it here; after, its group was killed with the connection.
    const lost = (err?: NodeJS.ErrnoException) => {
      if (!begun && (err?.code === "ENOENT" || err?.code === "ECONNREFUSED")) this.child?.kill("SIGKILL");
      end(begun ? { exited: 137 } : { fallback: true });
    };
    sock.on("error", lost);
    sock.on("close", () => lost());
    return { outcome, close: () => sock.destroy() };
  }
}

/** What a shell says, and its exit code, when `file` could not be executed (errno from the spawner). */
export function execFailure(file: string, errno: number): { message: string; exitCode: number } {
  if (errno === 2) return { message: `${file}: command not found\n`, exitCode: 127 };
  return { message: `${file}: ${errno === 13 ? "Permission denied" : `cannot execute (errno ${errno})`}\n`, exitCode: 126 };
}

/** A NUL cannot be passed to a program (spawn refuses it) and would cut the spawner's fields short. */
export const passable = (argv: readonly string[], env: Record<string, string>): boolean =>
  !argv.some((a) => a.includes("\0")) && !Object.entries(env).some(([k, v]) => k.includes("\0") || v.includes("\0"));

/** The runtime's one spawner. */
export const spawner = new Spawner();
