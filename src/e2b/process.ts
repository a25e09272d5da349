import type { IncomingMessage, ServerResponse } from "node:http";
import { BurrowError } from "../contract/index.js";
import { ConnectStream, deadlineOf, keepaliveMs, readStreamRequest, readUnary, sendUnary } from "./connect.js";
import { ConnectError } from "./errors.js";
import { CloseStdinRequest, ConnectRequest, ListRequest, SendInputRequest, SendSignalRequest, StartRequest, UpdateRequest, type ProcessSelector } from "./schemas.js";
import type { E2bSandboxes, ProcessMeta } from "./sandboxes.js";
import { asUser, homeOf, resolvePath, shellQuote, userEnv, userOfRpc } from "./users.js";
import { ndjson } from "../lib/ndjson.js";
import { runtimeError } from "../sandboxes/index.js";

/** Burrow's view of one background process (GET /processes in the runtime). */
interface RuntimeProcess {
  id: string;
  pid: number | undefined;
  command: string;
  cwd: string;
  status: string;
  exitCode: number | null;
  endedAt: string | null;
}

/** One line of the runtime's process stream: `started` first (for a followed start), then output, then `exit`. */
interface LogEvent {
  type: string;
  process?: RuntimeProcess;
  data?: string;
  exitCode?: number | null;
  status?: string;
}

/** Where a process started with stdin gets its input: a FIFO per pid, root's only. */
const STDIN_DIR = "/tmp/.e2b-stdin";

/**
 * The command line Burrow runs for an E2B start: the argv as sent, switched
 * to the user, and with stdin a FIFO fed by SendInput when asked for (Burrow's
 * own processes have no stdin; a `sleep` holds the FIFO's write end open
 * between inputs, and CloseStdin ends it, which is EOF for the command).
 */
export function commandLine(cmd: string, args: string[], user: string, stdin: boolean, pty?: { cols: number; rows: number }): string {
  let line = asUser(user) + [cmd, ...args].map(shellQuote).join(" ");
  // A PTY is util-linux's `script`: the command runs on a fresh pseudo-terminal of the given size, fed from stdin.
  if (pty) line = `script -qfec ${shellQuote(`stty cols ${pty.cols} rows ${pty.rows} 2>/dev/null; exec ${line}`)} /dev/null`;
  if (!stdin) return `exec ${line} </dev/null`;
  return [
    `f=${STDIN_DIR}/$$`,
    `mkdir -p -m 700 ${STDIN_DIR} && rm -f "$f" "$f.holder" && mkfifo -m 600 "$f" || exit 1`,
    `sleep 2147483647 >"$f" 2>/dev/null </dev/null & echo $! >"$f.holder"`,
    `${line} <"$f"; c=$?`,
    `kill "$(cat "$f.holder")" 2>/dev/null; rm -f "$f" "$f.holder"; exit $c`,
  ].join("\n");
}

/**
 * The same start as an argv and the user to run it as, when it needs no shell
 * around it (no stdin FIFO, no PTY): the runtime switches to the user itself,
 * so no shell and no setpriv start before the command.
 */
export function commandArgv(cmd: string, args: string[], user: string, stdin: boolean, pty: boolean): { argv: string[]; user?: string } | undefined {
  return stdin || pty ? undefined : { argv: [cmd, ...args], ...(user === "root" ? {} : { user }) };
}

/** Set the size of a PTY process's terminal; the kernel tells the program (SIGWINCH). The tty comes from ps: /proc/<pid>/fd of another user's process is closed to the sandbox's root. */
function resizeScript(pid: number, cols: number, rows: number): string {
  return `for s in $(pgrep -P ${pid} -x script); do for c in $(pgrep -P $s); do t=$(ps -o tty= -p $c | tr -d " "); case "$t" in pts/*) stty -F "/dev/$t" cols ${cols} rows ${rows};; esac; done; done`;
}

const clampSize = (n: number | undefined, fallback: number): number => (n && n > 0 ? Math.min(n, 1000) : fallback);

const SIGNAL_NAMES: Record<number, string> = { 1: "hangup", 2: "interrupt", 9: "killed", 15: "terminated" };

/** The end event of a process, as envd reports it (a Go ProcessState). */
function endEvent(p: { status: string; exitCode: number | null }) {
  const code = p.exitCode ?? -1;
  if (p.status === "killed" || code > 128) {
    const sig = code > 128 ? code - 128 : 9;
    const status = `signal: ${SIGNAL_NAMES[sig] ?? `signal ${sig}`}`;
    return { end: { exitCode: -1, status, error: status } };
  }
  const status = `exit status ${code}`;
  return { end: { exitCode: code, exited: true, status, ...(code !== 0 ? { error: status } : {}) } };
}

/** envd's process.Process service, on Burrow's background processes. */
export class ProcessService {
  constructor(private readonly sandboxes: E2bSandboxes) {}

  async handle(method: string, id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    switch (method) {
      case "Start":
        return this.start(id, req, res);
      case "Connect":
        return this.connect(id, req, res);
      case "List":
        await readUnary(req, ListRequest);
        return sendUnary(res, { processes: await this.list(id) });
      case "SendSignal":
        return this.signal(id, req, res);
      case "SendInput":
        return this.sendInput(id, req, res);
      case "CloseStdin":
        return this.closeStdin(id, req, res);
      case "Update":
        return this.update(id, req, res);
      case "StreamInput":
        throw new ConnectError("unimplemented", "StreamInput (client streaming) is not served; use SendInput");
    }
    throw new ConnectError("unimplemented", `process.Process has no method ${method}`);
  }

  private async start(id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const b = await readStreamRequest(req, StartRequest);
    const size = b.pty ? { cols: clampSize(b.pty.size?.cols, 80), rows: clampSize(b.pty.size?.rows, 24) } : undefined;
    const user = userOfRpc(req);
    const deadline = deadlineOf(req);
    const stream = new ConnectStream(res, { ms: keepaliveMs(req), message: { event: { keepalive: {} } } });
    let release: (() => void) | undefined;
    try {
      await this.sandboxes.ensureUser(id, user);
      const rt = await this.sandboxes.runtime(id);
      release = this.sandboxes.manager.hold(id);
      const stdin = (b.stdin ?? false) || !!size;
      // Started and followed in one runtime request: its first event is the process, then its output and exit.
      const answer = await rt.send("POST", "/processes", {
        command: commandLine(b.process.cmd, b.process.args ?? [], user, stdin, size),
        ...commandArgv(b.process.cmd, b.process.args ?? [], user, stdin, !!size),
        cwd: b.process.cwd ? resolvePath(b.process.cwd, user) : homeOf(user),
        env: { ...userEnv(user), ...(b.process.envs ?? {}) },
        follow: true,
      });
      if ((answer.statusCode ?? 500) >= 400) throw await runtimeError(answer);
      res.on("close", () => answer.destroy());
      const events = ndjson<LogEvent>(answer)[Symbol.asyncIterator]();
      const first = await events.next();
      if (first.done || first.value.type !== "started") throw new ConnectError("unavailable", "the sandbox stopped before the process started");
      const info = first.value.process!;
      const pid = info.pid ?? 0;
      const meta: ProcessMeta = { processId: info.id, cmd: b.process.cmd, args: b.process.args ?? [], envs: b.process.envs ?? {}, cwd: b.process.cwd, tag: b.tag, stdin, pty: !!size };
      const known = this.sandboxes.of(id).processes;
      known.delete(pid); // re-inserted last: the map's order is the age of its entries
      known.set(pid, meta);
      // Burrow keeps the newest 200 finished processes; what E2B knows about older ones can go.
      if (known.size > 1000) for (const k of [...known.keys()].slice(0, 500)) known.delete(k);
      stream.send({ event: { start: { pid } } });
      // The deadline is the command's timeout: at the end of it the command is killed, as envd does,
      // and the stream ends with deadline_exceeded once it is gone (so a list after no longer shows it).
      let timedOut = false;
      const overdue = () => new ConnectError("deadline_exceeded", `the command ran past its timeout of ${deadline} ms and was killed`);
      const timers: NodeJS.Timeout[] = [];
      if (deadline)
        timers.push(
          setTimeout(() => {
            timedOut = true;
            void rt.send("DELETE", `/processes/${info.id}?signal=SIGKILL`).then((r) => r.resume(), () => {});
            timers.push(setTimeout(() => stream.end(overdue()), 5000));
          }, deadline),
        );
      // A caller that leaves early does not save the command from its deadline: the timers stay until it exits.
      const exited = await this.relay(events, stream, res, !!size, () => (timedOut ? overdue() : undefined));
      if (exited) timers.forEach(clearTimeout);
    } catch (err) {
      stream.end(err);
    } finally {
      release?.();
    }
  }

  private async connect(id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const b = await readStreamRequest(req, ConnectRequest);
    const deadline = deadlineOf(req);
    const p = await this.find(id, b.process);
    if (p.endedAt !== null) throw new ConnectError("not_found", `process ${p.pid} has already exited`);
    const stream = new ConnectStream(res, { ms: keepaliveMs(req), message: { event: { keepalive: {} } } });
    stream.send({ event: { start: { pid: p.pid } } });
    const timer = deadline ? setTimeout(() => stream.end(new ConnectError("deadline_exceeded", `the connection's timeout of ${deadline} ms passed`)), deadline) : undefined;
    try {
      await this.follow(id, p.id, stream, res, this.sandboxes.of(id).processes.get(p.pid!)?.pty ?? false);
    } catch (err) {
      stream.end(err);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Relay a process's output (kept output first, then live) as data events, then its end event. */
  private async follow(id: string, processId: string, stream: ConnectStream, res: ServerResponse, pty: boolean): Promise<boolean> {
    const rt = await this.sandboxes.runtime(id);
    const release = this.sandboxes.manager.hold(id);
    try {
      const logs = await rt.send("GET", `/processes/${processId}/logs?follow=1`);
      if ((logs.statusCode ?? 500) >= 400) throw new BurrowError("PROCESS_NOT_FOUND", `no process ${processId} (${logs.statusCode})`);
      res.on("close", () => logs.destroy());
      return await this.relay(ndjson<LogEvent>(logs)[Symbol.asyncIterator](), stream, res, pty);
    } finally {
      release();
    }
  }

  /** Returns whether the process's exit was seen (false when the caller or the sandbox went away first). */
  private async relay(events: AsyncIterator<LogEvent>, stream: ConnectStream, res: ServerResponse, pty: boolean, endedBy?: () => Error | undefined): Promise<boolean> {
    try {
      for (let next = await events.next(); !next.done; next = await events.next()) {
        const e = next.value;
        if (e.type === "stdout" || e.type === "stderr") stream.send({ event: { data: { [pty ? "pty" : e.type]: Buffer.from(e.data ?? "").toString("base64") } } });
        else if (e.type === "exit") {
          const instead = endedBy?.();
          if (instead) stream.end(instead);
          else {
            stream.send({ event: endEvent({ status: e.status ?? "completed", exitCode: e.exitCode ?? null }) });
            stream.end();
          }
          return true;
        }
      }
      // The runtime went away mid-stream: the sandbox slept or was killed.
      stream.end(new ConnectError("unavailable", "the sandbox stopped before the process ended"));
      return false;
    } catch (err) {
      if (res.destroyed) return false; // the caller left: its stream is gone, nothing to answer
      throw err;
    }
  }

  private async list(id: string) {
    const rt = await this.sandboxes.runtime(id);
    const { processes } = await rt.json<{ processes: RuntimeProcess[] }>("GET", "/processes");
    const known = this.sandboxes.of(id).processes;
    return processes
      .filter((p) => p.endedAt === null && p.pid !== undefined)
      .map((p) => {
        const m = known.get(p.pid!);
        const meta = m && m.processId === p.id ? m : undefined;
        const config = meta
          ? { cmd: meta.cmd, args: meta.args, envs: meta.envs, ...(meta.cwd ? { cwd: meta.cwd } : {}) }
          : { cmd: "/bin/bash", args: ["-c", p.command], envs: {}, cwd: p.cwd };
        return { config, pid: p.pid, ...(meta?.tag ? { tag: meta.tag } : {}) };
      });
  }

  /** The Burrow process a selector names (by pid, or by the tag given at start). */
  private async find(id: string, sel: ProcessSelector): Promise<RuntimeProcess> {
    const rt = await this.sandboxes.runtime(id);
    const { processes } = await rt.json<{ processes: RuntimeProcess[] }>("GET", "/processes");
    const known = this.sandboxes.of(id).processes;
    let pid = sel.pid;
    if (pid === undefined && sel.tag !== undefined) pid = [...known.entries()].find(([, m]) => m.tag === sel.tag)?.[0];
    if (pid === undefined) throw new ConnectError("invalid_argument", "name the process by pid or tag");
    // The newest holder of a pid: pids are reused once a process is gone.
    const p = processes.filter((x) => x.pid === pid).pop();
    if (!p) throw new ConnectError("not_found", `no process with pid ${pid}`);
    return p;
  }

  private running = async (id: string, sel: ProcessSelector) => {
    const p = await this.find(id, sel);
    if (p.endedAt !== null) throw new ConnectError("not_found", `process ${p.pid} has already exited`);
    return p;
  };

  private async signal(id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const b = await readUnary(req, SendSignalRequest);
    const p = await this.running(id, b.process);
    const sig = b.signal === "SIGNAL_SIGTERM" || b.signal === 15 ? "SIGTERM" : "SIGKILL";
    const rt = await this.sandboxes.runtime(id);
    (await rt.send("DELETE", `/processes/${p.id}?signal=${sig}`)).resume();
    sendUnary(res, {});
  }

  private stdinOf(id: string, p: RuntimeProcess): string {
    const m = this.sandboxes.of(id).processes.get(p.pid!);
    if (!m || m.processId !== p.id || !m.stdin)
      throw new ConnectError("failed_precondition", `process ${p.pid} was started without stdin; start it with stdin: true to send input`);
    return `${STDIN_DIR}/${p.pid}`;
  }

  private async sendInput(id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const b = await readUnary(req, SendInputRequest);
    const p = await this.running(id, b.process);
    const fifo = this.stdinOf(id, p);
    const data = Buffer.from(b.input.stdin ?? b.input.pty ?? "", "base64").toString("base64"); // normalise base64url
    // The FIFO appears a moment after the start event: wait up to 2 s for it.
    const script = `for i in $(seq 200); do [ -p ${fifo} ] && break; sleep 0.01; done; [ -p ${fifo} ] || exit 3; base64 -d > ${fifo}`;
    const r = await this.sandboxes.exec(id, script, { stdin: data, timeoutMs: 10_000 });
    if (r.exitCode === 3) throw new ConnectError("not_found", `process ${p.pid} has no stdin any more (it closed it or exited)`);
    if (r.exitCode !== 0) throw new ConnectError("internal", `could not write to the stdin of process ${p.pid}: ${r.stderr.trim()}`);
    sendUnary(res, {});
  }

  private async update(id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const b = await readUnary(req, UpdateRequest);
    const p = await this.running(id, b.process);
    const m = this.sandboxes.of(id).processes.get(p.pid!);
    if (!m || m.processId !== p.id || !m.pty) throw new ConnectError("failed_precondition", `process ${p.pid} is not a PTY; only PTYs can be resized`);
    const size = b.pty?.size;
    if (size) await this.sandboxes.exec(id, resizeScript(p.pid!, clampSize(size.cols, 80), clampSize(size.rows, 24)));
    sendUnary(res, {});
  }

  private async closeStdin(id: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const b = await readUnary(req, CloseStdinRequest);
    const p = await this.running(id, b.process);
    const fifo = this.stdinOf(id, p);
    await this.sandboxes.exec(id, `h=$(cat ${fifo}.holder 2>/dev/null) && kill "$h" 2>/dev/null; exit 0`);
    sendUnary(res, {});
  }
}
