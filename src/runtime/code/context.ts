import { randomHex } from "../random.js";
import { BurrowError } from "../../contract/errors.js";
import { Interpreter, type CellEvent, type InterpreterLanguage } from "./interpreter.js";

export interface CellOutcome {
  executionCount: number;
  /** The interpreter died during this cell; the next run gets a fresh one with the same id. */
  crashed?: boolean;
  /** This run started on a fresh interpreter because the previous one died: earlier state is gone. */
  restarted?: boolean;
  timedOut?: boolean;
}

/** How long an interrupted cell may take to stop before the interpreter is killed. */
const INTERRUPT_GRACE_MS = 3000;

/** A persistent interpreter: variables, imports and functions last between runs; one run at a time. */
export class CodeContext {
  readonly id = `ctx-${randomHex(5)}`;
  readonly createdAt = new Date().toISOString();
  private queue: Promise<unknown> = Promise.resolve();
  private restartedNext = false;

  constructor(
    readonly language: "python" | "javascript" | "typescript",
    readonly cwd: string,
    private readonly env: Record<string, string>,
    private interp: Interpreter,
    readonly defaultTimeoutMs?: number,
  ) {}

  static async start(language: CodeContext["language"], cwd: string, env: Record<string, string>, pooled?: Interpreter, defaultTimeoutMs?: number): Promise<CodeContext> {
    const interp = pooled ?? new Interpreter(interpreterFor(language), cwd, env);
    await interp.ready;
    if (pooled) pooled.send({ type: "setup", cwd, env });
    return new CodeContext(language, cwd, env, interp, defaultTimeoutMs);
  }

  run(code: string, timeoutMs: number | undefined, emit: (e: CellEvent) => void, signal: AbortSignal): Promise<CellOutcome> {
    const next = this.queue.then(() => this.runNow(code, timeoutMs, emit, signal));
    this.queue = next.catch(() => {});
    return next;
  }

  private async runNow(code: string, timeoutMs: number | undefined, emit: (e: CellEvent) => void, signal: AbortSignal): Promise<CellOutcome> {
    const restarted = this.restartedNext;
    if (!this.interp.alive) {
      this.interp = new Interpreter(interpreterFor(this.language), this.cwd, this.env);
      await this.interp.ready;
    }
    this.restartedNext = false;
    const interp = this.interp;
    let timedOut = false;
    let killer: NodeJS.Timeout | undefined;
    const interrupt = () => {
      interp.interrupt(); // KeyboardInterrupt: the cell stops, the context keeps its state
      killer ??= setTimeout(() => interp.kill(), INTERRUPT_GRACE_MS);
    };
    const timer = timeoutMs ? setTimeout(() => ((timedOut = true), interrupt()), timeoutMs) : undefined;
    signal.addEventListener("abort", interrupt, { once: true });
    try {
      const outcome = await Promise.race([
        interp.run(this.language === "typescript" ? await stripTypes(code) : code, emit).then((executionCount) => ({ executionCount })),
        interp.exited.then(() => ({ executionCount: 0, crashed: true })),
      ]);
      if ("crashed" in outcome) {
        this.restartedNext = true;
        emit({ type: "error", name: "ContextCrashed", message: "the interpreter died while running this cell; the next run starts a fresh one (state is lost)", traceback: "" });
      }
      return { ...outcome, ...(restarted ? { restarted } : {}), ...(timedOut ? { timedOut } : {}) };
    } finally {
      clearTimeout(timer);
      clearTimeout(killer);
      signal.removeEventListener("abort", interrupt);
    }
  }

  dispose(): void {
    this.interp.kill();
  }

  info() {
    return { id: this.id, language: this.language, cwd: this.cwd, createdAt: this.createdAt };
  }
}

/** TypeScript runs on the JavaScript interpreter after its types are stripped. */
export const interpreterFor = (language: CodeContext["language"]): InterpreterLanguage => (language === "python" ? "python" : "javascript");

/**
 * Strip types (sucrase, bundled into the runtime); ES imports become require
 * calls the REPL can run. Sucrase is most of the runtime's code: it is
 * evaluated at the first TypeScript cell, not at every sandbox start.
 */
async function stripTypes(code: string): Promise<string> {
  const { transform } = await import("sucrase");
  return transform(code, { transforms: ["typescript", "imports"], disableESTransforms: true }).code;
}

export function notFound(id: string): BurrowError {
  return new BurrowError("CONTEXT_NOT_FOUND", `no code context ${id}; create one with POST /contexts`, { contextId: id });
}
