import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { report } from "../observability/channels.js";

function pidwatchBinary(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const file = "burrow-pidwatch";
  for (const c of [join(here, file), join(here, "..", file), join(here, "..", "..", "dist", file)]) if (existsSync(c)) return c;
  throw new Error(`dist/${file} is missing: run npm run build`);
}

/**
 * Calls back as soon as a watched process ends, though the server is not its
 * parent: one burrow-pidwatch child (pidwatch/pidwatch.c) holds a pidfd per
 * process in an epoll set. No polling; an exit is reported in milliseconds.
 */
export class ExitWatcher {
  private child: ChildProcess | undefined;
  private readonly watches = new Map<string, { pid: number; onExit: () => void }>();
  private next = 0;
  private closed = false;

  /** Watch `pid`; `onExit` runs once when it ends. Returns a function that stops watching. */
  watch(pid: number, onExit: () => void): () => void {
    const key = `w${this.next++}`;
    this.watches.set(key, { pid, onExit });
    this.send(`+${key} ${pid}`);
    return () => {
      if (this.watches.delete(key)) this.send(`-${key}`);
    };
  }

  close(): void {
    this.closed = true;
    this.watches.clear();
    this.child?.stdin?.end();
    this.child = undefined;
  }

  private send(line: string): void {
    if (this.closed) return;
    this.ensureChild().stdin!.write(`${line}\n`);
  }

  private ensureChild(): ChildProcess {
    if (this.child) return this.child;
    const child = spawn(pidwatchBinary(), [], { stdio: ["pipe", "pipe", "inherit"] });
    this.child = child;
    child.stdin!.on("error", () => {});
    createInterface({ input: child.stdout! }).on("line", (key) => {
      const w = this.watches.get(key);
      if (!w) return;
      this.watches.delete(key);
      w.onExit();
    });
    // Should the watcher itself die, a new one takes over every watch (a process gone meanwhile is reported at once).
    child.on("exit", () => {
      if (this.child !== child || this.closed) return;
      this.child = undefined;
      report("warn", "supervisor.watcher_restart", "the exit watcher stopped; starting it again");
      for (const [key, w] of this.watches) this.send(`+${key} ${w.pid}`);
    });
    child.unref();
    (child.stdout as unknown as { unref?: () => void }).unref?.();
    (child.stdin as unknown as { unref?: () => void }).unref?.();
    return child;
  }
}
