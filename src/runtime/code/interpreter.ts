import { spawn, type ChildProcess } from "node:child_process";
import { viaEnter } from "../enter.js";
import { existsSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { randomHex } from "../random.js";
import { BurrowError } from "../../contract/errors.js";
import { killTree } from "../process-tree.js";
import { PYTHON_DRIVER } from "./python-driver.js";
import { MarkerScanner, RS } from "../marker-scanner.js";
import { JS_DRIVER } from "./js-driver.js";
import { RUNTIME_DIR } from "../env.js";

export type CellEvent =
  | { type: "stdout"; data: string }
  | { type: "stderr"; data: string }
  | { type: "result"; data: Record<string, string>; isMainResult?: boolean }
  | { type: "error"; name: string; message: string; traceback: string };


export type InterpreterLanguage = "python" | "javascript";

/** Python from the image; JavaScript on the Node that Burrow injects, through its own loader. */
function command(language: InterpreterLanguage): [string, string[]] {
  if (language === "python") return [existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3", ["-u", "-c", PYTHON_DRIVER]];
  const kit = `${RUNTIME_DIR}/node`;
  return [`${kit}/lib/ld-linux-x86-64.so.2`, ["--library-path", `${kit}/lib`, `${kit}/bin/node`, "--expose-internals", "--experimental-vm-modules", "--no-warnings", "-e", JS_DRIVER]];
}

/**
 * One interpreter process: cells go in on fd 3, results and errors come back
 * on fd 4, output on stdout/stderr up to a per-cell marker. Runs one cell at
 * a time; `exited` settles when the process ends.
 */
export class Interpreter {
  private readonly proc: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<number>;
  private readonly scanners = { stdout: new MarkerScanner(18), stderr: new MarkerScanner(18) };
  private cell: { token: string; emit: (e: CellEvent) => void; marks: number; done: boolean; count: number; resolve: (n: number) => void } | undefined;
  alive = true;

  constructor(
    readonly language: InterpreterLanguage,
    cwd: string,
    env: Record<string, string>,
  ) {
    const [cmd, args] = command(language);
    this.proc = spawn(...viaEnter(cmd, args), { cwd, env: { ...env, PYTHONUNBUFFERED: "1" }, detached: true, stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"] });
    const events = this.proc.stdio[4] as Readable;
    let onReady!: () => void;
    let onFail!: (e: Error) => void;
    this.ready = new Promise((res, rej) => ((onReady = res), (onFail = rej)));
    this.ready.catch(() => {});
    let pending = "";
    events.setEncoding("utf8").on("data", (d: string) => {
      pending += d;
      let i: number;
      while ((i = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, i);
        pending = pending.slice(i + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as { type: string; [k: string]: unknown };
        if (msg.type === "ready") onReady();
        else if (msg.type === "fatal") onFail(new BurrowError("INTERNAL", String(msg.message)));
        else if (msg.type === "done") this.finishPart("done", Number(msg.executionCount));
        else if (msg.type === "result" || msg.type === "error") this.cell?.emit(msg as unknown as CellEvent);
      }
    });
    for (const stream of ["stdout", "stderr"] as const) this.proc[stream]!.setEncoding("utf8").on("data", (d: string) => this.output(stream, d));
    this.exited = new Promise((resolve) => this.proc.on("exit", (code, sig) => resolve(code ?? (sig ? 128 + 9 : 1))));
    this.exited.then((code) => {
      this.alive = false;
      onFail(new BurrowError("INTERNAL", `the interpreter exited with ${code} while starting`));
    });
    this.proc.on("error", (err) => onFail(err));
    (this.proc.stdio[3] as Writable).on("error", () => {});
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  send(msg: object): void {
    (this.proc.stdio[3] as Writable).write(JSON.stringify(msg) + "\n");
  }

  /** Run one cell; resolves with its execution count once its output has all arrived. */
  run(code: string, emit: (e: CellEvent) => void): Promise<number> {
    const token = randomHex(8);
    return new Promise((resolve) => {
      this.cell = { token, emit, marks: 0, done: false, count: 0, resolve };
      this.send({ type: "run", code, token });
    });
  }

  interrupt(): void {
    if (this.proc.pid) process.kill(this.proc.pid, "SIGINT");
  }

  kill(): void {
    if (this.proc.pid) killTree(this.proc.pid, "SIGKILL");
  }

  private output(stream: "stdout" | "stderr", data: string): void {
    const c = this.cell;
    if (!c) return;
    const { text, match } = this.scanners[stream].push(data, new RegExp(`${RS}${c.token}${RS}`));
    if (text) c.emit({ type: stream, data: text });
    if (match) this.finishPart("mark", 0);
  }

  private finishPart(kind: "mark" | "done", count: number): void {
    const c = this.cell;
    if (!c) return;
    if (kind === "mark") c.marks++;
    else {
      c.done = true;
      c.count = count;
    }
    if (c.marks === 2 && c.done) {
      this.cell = undefined;
      c.resolve(c.count);
    }
  }
}
