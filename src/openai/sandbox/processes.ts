/**
 * Commands that outlive one tool call: a non-tty command still running when
 * its yield time is up, or a tty command in a real terminal. The model polls
 * and types into them with `write_stdin` by a numeric session id, as the SDK's
 * shell capability expects.
 */
import { elapsedSeconds, formatExecResponse, truncateOutput } from "@openai/agents-core/sandbox/internal";
import { UserError } from "@openai/agents";

export const DEFAULT_EXEC_YIELD_MS = 10_000;
const WRITE_YIELD_MIN_MS = 250;
const WRITE_YIELD_MAX_MS = 30_000;
/** An empty write is a poll: wait a while, or a model spins on it. */
const EMPTY_POLL_MIN_MS = 5_000;
const MAX_PROCESSES = 64;
/** Output kept for a command nobody has polled yet; older output is dropped with a note. */
const MAX_PENDING_CHARS = 1024 * 1024;

/** One running command: output since the last look, and how it ended. */
export class LiveProcess {
  output = "";
  stdout = "";
  stderr = "";
  done = false;
  exitCode: number | null = null;
  lastUsed = Date.now();
  private dropped = 0;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly tty: boolean,
    /** Send bytes to the command (tty only). */
    readonly write?: (chars: string) => Promise<void>,
    /** Interrupt a non-tty command (Ctrl-C). */
    readonly interrupt?: () => Promise<void>,
    /** Stop it and free what it holds. */
    readonly terminate?: () => Promise<void>,
  ) {}

  append(stream: "stdout" | "stderr" | "pty", text: string): void {
    if (!text) return;
    this.output += text;
    if (stream === "stderr") this.stderr += text;
    else this.stdout += text;
    if (this.output.length > MAX_PENDING_CHARS) {
      const cut = this.output.length - MAX_PENDING_CHARS;
      this.dropped += cut;
      this.output = this.output.slice(cut);
      this.stdout = this.stdout.slice(Math.max(0, this.stdout.length - MAX_PENDING_CHARS));
      this.stderr = this.stderr.slice(Math.max(0, this.stderr.length - MAX_PENDING_CHARS));
    }
    this.wake();
  }

  finish(exitCode: number | null): void {
    if (this.done) return;
    this.done = true;
    this.exitCode = exitCode;
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Wait until the command ends or `ms` pass, whichever is first. */
  async settle(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.done && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
        this.waiters.add(done);
      });
    }
  }

  /** What arrived since the last call (with a note of anything dropped unread). */
  take(): { output: string; stdout: string; stderr: string } {
    const note = this.dropped ? `[...${this.dropped} characters truncated from process output...]\n` : "";
    const r = { output: note + this.output, stdout: this.stdout, stderr: this.stderr };
    this.output = "";
    this.stdout = "";
    this.stderr = "";
    this.dropped = 0;
    return r;
  }
}

/** The session's live commands by id (1000-99999, like the SDK's own sessions). */
export class ProcessRegistry {
  private readonly live = new Map<number, LiveProcess>();

  register(p: LiveProcess): number {
    if (this.live.size >= MAX_PROCESSES) this.prune();
    for (;;) {
      const id = 1000 + Math.floor(Math.random() * 99_000);
      if (!this.live.has(id)) {
        this.live.set(id, p);
        return id;
      }
    }
  }

  get(id: number): LiveProcess | undefined {
    return this.live.get(id);
  }

  delete(id: number): void {
    this.live.delete(id);
  }

  /** Drop the least recently used finished command, or else the least recently used one. */
  private prune(): void {
    const byAge = [...this.live.entries()].sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    const victim = byAge.find(([, p]) => p.done) ?? byAge[0];
    if (!victim) return;
    this.live.delete(victim[0]);
    void victim[1].terminate?.().catch(() => {});
  }

  async terminateAll(): Promise<void> {
    const all = [...this.live.values()];
    this.live.clear();
    await Promise.allSettled(all.map((p) => p.terminate?.()));
  }
}

export interface ExecOutcome {
  output: string;
  stdout: string;
  stderr: string;
  wallTimeSeconds: number;
  exitCode?: number | null;
  sessionId?: number;
  originalTokenCount?: number;
}

/**
 * After a yield: the command's result if it ended (and it is forgotten), or
 * what it printed so far with the id to poll it by.
 */
export function outcome(registry: ProcessRegistry, p: LiveProcess, start: number, maxOutputTokens: number | undefined, knownId?: number): ExecOutcome {
  const taken = p.take();
  const cut = truncateOutput(taken.output, maxOutputTokens);
  const base = { output: cut.text, stdout: taken.stdout, stderr: taken.stderr, wallTimeSeconds: elapsedSeconds(start), originalTokenCount: cut.originalTokenCount };
  p.lastUsed = Date.now();
  if (p.done) {
    if (knownId !== undefined) registry.delete(knownId);
    void p.terminate?.().catch(() => {});
    return { ...base, exitCode: p.exitCode ?? 1 };
  }
  return { ...base, sessionId: knownId ?? registry.register(p) };
}

/** `write_stdin`: type into (or poll) a live command, then report as exec does. */
export async function writeToProcess(registry: ProcessRegistry, args: { sessionId: number; chars?: string; yieldTimeMs?: number; maxOutputTokens?: number }): Promise<string> {
  const p = registry.get(args.sessionId);
  if (!p) return formatExecResponse({ output: `write_stdin failed: session not found: ${args.sessionId}`, wallTimeSeconds: 0, exitCode: 1 });
  const start = Date.now();
  const chars = args.chars ?? "";
  if (chars) {
    if (p.tty) await p.write!(chars);
    else {
      if (chars.replaceAll("\u0003", "").length > 0)
        throw new UserError("this command was started without a terminal, so it has no stdin to type into; start it with tty=true to interact with it (Ctrl-C, \\u0003, still interrupts it)");
      await p.interrupt?.();
    }
  }
  const requested = Math.min(WRITE_YIELD_MAX_MS, Math.max(WRITE_YIELD_MIN_MS, args.yieldTimeMs ?? WRITE_YIELD_MIN_MS));
  await p.settle(chars ? requested : Math.max(requested, EMPTY_POLL_MIN_MS));
  return formatExecResponse(outcome(registry, p, start, args.maxOutputTokens, args.sessionId));
}
