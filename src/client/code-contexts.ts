import type { CodeContextInfo, Execution } from "../contract/index.js";
import type { Transport } from "./transport.js";
import type { CodeEvent, CodeLanguage } from "./types.js";

export interface CodeContextOptions {
  language?: CodeLanguage;
  cwd?: string;
  env?: Record<string, string>;
  timeout?: number;
}

export interface RunCodeOptions {
  /** The context to run in; without one, the handle's default context for `language` (made on first use). */
  context?: string | CodeContextInfo;
  language?: CodeLanguage;
  timeoutMs?: number;
  signal?: AbortSignal;
}

const enc = encodeURIComponent;

/** A sandbox handle's code contexts, with one default context per language made on first use. */
export class CodeContexts {
  private readonly defaults = new Map<CodeLanguage, Promise<CodeContextInfo>>();

  constructor(
    private readonly t: Transport,
    /** The sandbox's path, `/v1/sandboxes/<id>`. */
    private readonly base: string,
  ) {}

  create(opts: CodeContextOptions = {}): Promise<CodeContextInfo> {
    return this.t.json("POST", `${this.base}/contexts`, opts);
  }

  async list(): Promise<CodeContextInfo[]> {
    return (await this.t.json<{ contexts: CodeContextInfo[] }>("GET", `${this.base}/contexts`)).contexts;
  }

  async delete(context: string | CodeContextInfo): Promise<void> {
    await this.t.json("DELETE", `${this.base}/contexts/${enc(typeof context === "string" ? context : context.id)}`);
  }

  async run(code: string, opts: RunCodeOptions = {}): Promise<Execution> {
    const id = await this.contextFor(opts.context, opts.language);
    return this.t.json("POST", `${this.base}/contexts/${enc(id)}/run`, { code, timeoutMs: opts.timeoutMs }, opts.signal);
  }

  async *runStream(code: string, opts: RunCodeOptions = {}): AsyncGenerator<CodeEvent> {
    const id = await this.contextFor(opts.context, opts.language);
    for await (const e of this.t.sse("POST", `${this.base}/contexts/${enc(id)}/run`, { code, timeoutMs: opts.timeoutMs }, opts.signal)) yield e.data as CodeEvent;
  }

  private contextFor(context: string | CodeContextInfo | undefined, language: CodeLanguage = "python"): Promise<string> {
    if (context) return Promise.resolve(typeof context === "string" ? context : context.id);
    let made = this.defaults.get(language);
    if (!made) {
      made = this.create({ language });
      made.catch(() => this.defaults.delete(language));
      this.defaults.set(language, made);
    }
    return made.then((c) => c.id);
  }
}
