import { tool, type Tool } from "@openai/agents";
import { z } from "zod";
import { BurrowApiError, type Sandbox } from "../client/index.js";
import { truncate } from "./truncate.js";

export interface SandboxToolOptions {
  /** Most characters of output handed back to the model per stream or file (default 20,000). */
  maxOutputChars?: number;
  /** Default working directory for commands (default /workspace). */
  cwd?: string;
  /** Default command timeout (default 120 s). */
  timeoutMs?: number;
  /** Tools (by name, or true for all) whose calls wait for a person's approval: the run stops with an interruption to approve or reject. */
  needsApproval?: boolean | string[];
}

/** A sandbox error as a sentence the model can act on, instead of a thrown exception. */
function explain(err: unknown): string {
  if (err instanceof BurrowApiError) return `error ${err.code}: ${err.message}`;
  return `error: ${(err as Error).message ?? String(err)}`;
}

const guard = <A>(f: (a: A) => Promise<string>) => async (a: A) => {
  try {
    return await f(a);
  } catch (err) {
    return explain(err);
  }
};

/**
 * Ready-made `@openai/agents` tools backed by one sandbox: run a shell
 * command, read, write and edit files, list a directory, run code in a
 * persistent context. Each answers with
 * what a model needs (exit codes, output cut to size with a note of what was
 * cut) and turns sandbox errors into readable tool results.
 */
export function sandboxTools(sbx: Sandbox, opts: SandboxToolOptions = {}): Tool[] {
  const max = opts.maxOutputChars ?? 20_000;
  const cwd = opts.cwd ?? "/workspace";
  const ask = (name: string) => (Array.isArray(opts.needsApproval) ? opts.needsApproval.includes(name) : opts.needsApproval === true);

  const shell = tool({
    name: "shell",
    needsApproval: ask("shell"),
    description: "Run a shell command (bash) in the sandbox, a Linux machine with git, python3, build tools and internet through a proxy. Returns the exit code, stdout and stderr.",
    parameters: z.object({
      command: z.string().describe("the command line"),
      cwd: z.string().nullable().describe("working directory; null for /workspace"),
      timeoutMs: z.number().int().nullable().describe("time limit in ms; null for the default"),
    }),
    execute: guard(async ({ command, cwd: dir, timeoutMs }) => {
      const r = await sbx.exec(command, { cwd: dir ?? cwd, timeoutMs: timeoutMs ?? opts.timeoutMs ?? 120_000 });
      return [`exit code ${r.exitCode}`, r.stdout && `stdout:\n${truncate(r.stdout, max)}`, r.stderr && `stderr:\n${truncate(r.stderr, max)}`].filter(Boolean).join("\n");
    }),
  });

  const readFile = tool({
    name: "read_file",
    needsApproval: ask("read_file"),
    description: "Read a text file from the sandbox.",
    parameters: z.object({ path: z.string().describe("absolute path") }),
    execute: guard(async ({ path }) => {
      const f = await sbx.readFile(path);
      if (f.content.includes("\u0000")) return `${path} is binary (${f.size} bytes, ${f.mimeType}); not shown`;
      return truncate(f.content, max);
    }),
  });

  const writeFile = tool({
    name: "write_file",
    needsApproval: ask("write_file"),
    description: "Write a text file in the sandbox, replacing it; parent directories are created.",
    parameters: z.object({ path: z.string().describe("absolute path"), content: z.string() }),
    execute: guard(async ({ path, content }) => {
      const r = await sbx.writeFile(path, content);
      return `wrote ${r.size} bytes to ${r.path}`;
    }),
  });

  const editFile = tool({
    name: "edit_file",
    needsApproval: ask("edit_file"),
    description: "Edit a file by replacing an exact piece of text, which must occur exactly once (include enough context to make it unique).",
    parameters: z.object({ path: z.string(), old_text: z.string(), new_text: z.string() }),
    execute: guard(async ({ path, old_text, new_text }) => {
      const f = await sbx.readFile(path);
      const count = old_text ? f.content.split(old_text).length - 1 : 0;
      if (count === 0) return `error: the text to replace was not found in ${path}; read the file and copy the text exactly`;
      if (count > 1) return `error: the text to replace occurs ${count} times in ${path}; include more surrounding lines to make it unique`;
      const mode = (await sbx.stat(path)).mode;
      await sbx.writeFile(path, f.content.replace(old_text, () => new_text), { mode });
      return `edited ${path}`;
    }),
  });

  const listDir = tool({
    name: "list_dir",
    needsApproval: ask("list_dir"),
    description: "List a directory in the sandbox (hidden files included).",
    parameters: z.object({ path: z.string(), recursive: z.boolean().nullable().describe("null for false") }),
    execute: guard(async ({ path, recursive }) => {
      const files = await sbx.listFiles(path, { recursive: recursive ?? false, includeHidden: true });
      const lines = files.map((f) => `${f.type === "directory" ? "d" : "-"} ${String(f.size).padStart(9)} ${f.path}`);
      return truncate(lines.join("\n") || "(empty)", max);
    }),
  });

  // One persistent context per language, made on first use: variables survive between calls.
  const contexts = new Map<string, Promise<string>>();
  const runCode = tool({
    name: "run_code",
    needsApproval: ask("run_code"),
    description: "Run code in a persistent notebook-like interpreter in the sandbox (python, javascript or typescript). Variables and imports persist between calls; the value of the last expression is returned. matplotlib charts and tables are returned as descriptions.",
    parameters: z.object({ language: z.enum(["python", "javascript", "typescript"]), code: z.string() }),
    execute: guard(async ({ language, code }) => {
      if (!contexts.has(language)) contexts.set(language, sbx.createCodeContext({ language }).then((c) => c.id));
      const r = await sbx.runCode(code, { context: await contexts.get(language)!, timeoutMs: opts.timeoutMs ?? 120_000 });
      const parts: string[] = [];
      if (r.logs.stdout) parts.push(`stdout:\n${truncate(r.logs.stdout, max)}`);
      if (r.logs.stderr) parts.push(`stderr:\n${truncate(r.logs.stderr, max)}`);
      for (const res of r.results) {
        const kinds = Object.keys(res).filter((k) => k !== "isMainResult" && k !== "text");
        parts.push(`${res.isMainResult ? "result" : "display"}: ${truncate(String(res.text ?? ""), max)}${kinds.length ? ` (also as ${kinds.join(", ")})` : ""}`);
      }
      if (r.error) parts.push(`error ${r.error.name}: ${r.error.message}\n${truncate(r.error.traceback, max)}`);
      if (r.timedOut) parts.push("the run was interrupted: it took too long");
      if (r.crashed) parts.push("the interpreter crashed; the next run starts a fresh one");
      return parts.join("\n") || "(no output)";
    }),
  });

  return [shell, readFile, writeFile, editFile, listDir, runCode];
}
