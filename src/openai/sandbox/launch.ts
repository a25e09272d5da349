/** Starting a session's commands: as a stream of output, or in a real terminal. */
import { shellQuote } from "@openai/agents-core/sandbox/internal";
import { BurrowApiError, type Sandbox } from "../../client/index.js";
import { LiveProcess } from "./processes.js";

/** What starting a command needs from its session. */
export interface LaunchContext {
  sandbox: Sandbox;
  environment: Record<string, string>;
  sh(script: string, what: string): Promise<string>;
}

const rand = () => Math.random().toString(36).slice(2, 10);

export function startStream(ctx: LaunchContext, argv: string[], cwd: string): LiveProcess {
  const ac = new AbortController();
  let interrupted = false;
  const p = new LiveProcess(
    false,
    undefined,
    async () => {
      interrupted = true;
      ac.abort();
    },
    async () => ac.abort(),
  );
  void (async () => {
    try {
      for await (const ev of ctx.sandbox.execStream(argv, { cwd, env: ctx.environment, signal: ac.signal })) {
        if (ev.type === "stdout" || ev.type === "stderr") p.append(ev.type, ev.data);
        else if (ev.type === "complete") return p.finish(ev.timedOut ? 124 : ev.exitCode);
        else if (ev.type === "error") {
          p.append("stderr", `${ev.code}: ${ev.message}\n`);
          return p.finish(ev.code === "EXEC_TIMEOUT" ? 124 : 1);
        }
      }
      p.finish(interrupted ? 130 : null);
    } catch (err) {
      if (interrupted || ac.signal.aborted) return p.finish(130);
      // A refusal before the command started (a missing workdir, a stopped sandbox) is reported like its output.
      p.append("stderr", err instanceof BurrowApiError ? `${err.code}: ${err.message}\n` : `error: ${(err as Error).message}\n`);
      p.finish(1);
    }
  })();
  return p;
}

/**
 * A command in a real terminal (a PTY over Burrow's terminal WebSocket). The
 * shell prints a marker with its pid, then becomes the command: what came
 * before the marker (prompt, echo of that line) is not shown, the terminal
 * ends with the command, and its exit code (130 after Ctrl-C) is the command's.
 */
export async function startPty(ctx: LaunchContext, argv: string[], cwd: string): Promise<LiveProcess> {
  const term = await ctx.sandbox.terminal({ cols: 80, rows: 24 });
  const tag = rand();
  const marker = new RegExp(`__BURROW_PTY_${tag} (\\d+)\\r?\\n`);
  let pid: string | undefined;
  let held = "";
  let onStarted!: () => void;
  const started = new Promise<void>((r) => (onStarted = r));
  const p = new LiveProcess(
    true,
    async (chars) => term.write(chars),
    undefined,
    async () => {
      if (!p.done && pid) await ctx.sh(`pkill -KILL -s ${pid} 2>/dev/null || kill -KILL -- -${pid} 2>/dev/null || true`, "stop a terminal command").catch(() => {});
      await term.close();
    },
  );
  term.onData((d) => {
    if (pid !== undefined) return p.append("pty", d);
    held += d;
    const m = marker.exec(held);
    if (!m) return;
    pid = m[1];
    p.append("pty", held.slice(m.index + m[0].length));
    held = "";
    onStarted();
  });
  void term.exited.then((code) => {
    onStarted();
    p.finish(code);
  });
  const env = Object.entries(ctx.environment).map(([k, v]) => `${k}=${shellQuote(v)}`);
  // `trap : INT` in the wrapper shell: the command gets Ctrl-C, the wrapper outlives it to report 130.
  const line = `printf '%s%s %s\\n' __BURROW_ PTY_${tag} $$; cd -- ${shellQuote(cwd)} || exit 1; exec env ${env.join(" ")} /bin/sh -c 'trap : INT; "$@"; exit $?' sh ${argv.map(shellQuote).join(" ")}\n`;
  term.write(line);
  await Promise.race([started, new Promise((r) => setTimeout(r, 10_000))]);
  return p;
}
