import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { BurrowApiError, type Sandbox } from "../client/index.js";
import type { SandboxPool } from "./sandbox-pool.js";

/** How much of a command's output goes back to the model: more would flood its context. */
const MAX_OUTPUT = 100_000;

const sandbox = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, "a sandbox name is a DNS label: lowercase letters, digits and inner dashes")
  .describe("The sandbox's name; it is created (or woken) on first use.");
const path = z.string().min(1).max(4096).describe("An absolute path in the sandbox, e.g. /workspace/app.py");

const text = (t: string, isError = false): CallToolResult => ({ content: [{ type: "text", text: t }], ...(isError ? { isError: true } : {}) });
const clip = (s: string) => (s.length > MAX_OUTPUT ? `${s.slice(0, MAX_OUTPUT)}\n[... ${s.length - MAX_OUTPUT} more characters cut]` : s);

/** A failure the model can act on, as a tool result: never a protocol error, never a crash. */
function failure(err: unknown): CallToolResult {
  if (err instanceof BurrowApiError) return text(`error ${err.code}: ${err.message}`, true);
  return text(`error: ${err instanceof Error ? err.message : String(err)}`, true);
}

/**
 * Burrow's sandboxes as MCP tools: every tool names its sandbox, so one
 * client can work on several computers. Results are plain text: exit code,
 * stdout and stderr, file contents, listings.
 */
export function sandboxMcpServer(pool: SandboxPool, version: string): McpServer {
  const server = new McpServer({ name: "burrow", version }, { instructions: "Each tool takes a sandbox name: a persistent Linux computer (files, processes, network) created on first use and kept between calls." });
  const tool = <S extends z.ZodRawShape>(name: string, description: string, shape: S, run: (sb: Sandbox, args: z.infer<z.ZodObject<S>>) => Promise<CallToolResult>) =>
    server.registerTool(name, { description, inputSchema: shape }, (async (args: z.infer<z.ZodObject<S>> & { sandbox: string }) => {
      try {
        return await pool.use(args.sandbox, (sb) => run(sb, args));
      } catch (err) {
        return failure(err);
      }
    }) as never);

  tool(
    "exec",
    "Run a shell command (bash -c) in a sandbox and wait for it. Returns the exit code, stdout and stderr.",
    { sandbox, command: z.string().min(1).max(100_000), cwd: path.optional(), timeoutMs: z.number().int().min(1).max(3_600_000).optional() },
    async (sb, a) => {
      const r = await sb.exec(a.command, { ...(a.cwd ? { cwd: a.cwd } : {}), ...(a.timeoutMs ? { timeoutMs: a.timeoutMs } : {}) });
      return text(`exit code: ${r.exitCode}\n--- stdout ---\n${clip(r.stdout)}\n--- stderr ---\n${clip(r.stderr)}`);
    },
  );

  tool("read_file", "Read a text file from a sandbox.", { sandbox, path }, async (sb, a) => text(clip((await sb.readFile(a.path)).content)));

  tool("write_file", "Write a text file in a sandbox (parent directories are created; an existing file is replaced).", { sandbox, path, content: z.string().max(50 * 1024 * 1024) }, async (sb, a) => {
    const r = await sb.writeFile(a.path, a.content);
    return text(`wrote ${r.size} bytes to ${r.path}`);
  });

  tool(
    "edit_file",
    "Replace one exact occurrence of `old` with `new` in a text file in a sandbox. Fails if `old` is missing or occurs more than once.",
    { sandbox, path, old: z.string().min(1), new: z.string() },
    async (sb, a) => {
      const { content } = await sb.readFile(a.path);
      const at = content.indexOf(a.old);
      if (at < 0) return text(`error: the text to replace is not in ${a.path}`, true);
      if (content.indexOf(a.old, at + 1) >= 0) return text(`error: the text to replace occurs more than once in ${a.path}; include more context so it is unique`, true);
      await sb.writeFile(a.path, content.slice(0, at) + a.new + content.slice(at + a.old.length));
      return text(`edited ${a.path}`);
    },
  );

  tool("list_dir", "List a directory in a sandbox: one entry per line (type, size, name).", { sandbox, path }, async (sb, a) => {
    const entries = await sb.listFiles(a.path);
    return text(entries.map((e) => `${e.type === "directory" ? "dir " : e.type === "symlink" ? "link" : "file"} ${String(e.size).padStart(10)} ${e.name}`).join("\n") || "(empty)");
  });

  tool(
    "run_code",
    "Run code in a sandbox's persistent interpreter (one per language: variables and imports survive between calls). Returns output, the value of the last expression, or the error.",
    { sandbox, code: z.string().min(1).max(1_000_000), language: z.enum(["python", "javascript", "typescript"]).optional() },
    async (sb, a) => {
      const r = await sb.runCode(a.code, { language: a.language ?? "python" });
      const parts: string[] = [];
      if (r.logs.stdout) parts.push(`--- stdout ---\n${clip(r.logs.stdout)}`);
      if (r.logs.stderr) parts.push(`--- stderr ---\n${clip(r.logs.stderr)}`);
      for (const res of r.results) if (typeof res.text === "string") parts.push(`--- result ---\n${clip(res.text)}`);
      if (r.error) parts.push(`--- error ---\n${r.error.name}: ${r.error.message}\n${clip(r.error.traceback)}`);
      if (r.timedOut) parts.push("(timed out; the interpreter keeps its state)");
      return text(parts.join("\n") || "(no output)", !!r.error);
    },
  );

  tool("start_process", "Start a long-running command in a sandbox in the background (a server, a watcher). Returns its id for process_logs.", { sandbox, command: z.string().min(1).max(100_000), cwd: path.optional() }, async (sb, a) => {
    const p = await sb.startProcess(a.command, a.cwd ? { cwd: a.cwd } : {});
    return text(`started process ${p.id} (pid ${p.pid ?? "?"}, ${p.status})`);
  });

  tool("process_logs", "The output so far of a process started with start_process, and whether it still runs.", { sandbox, id: z.string().min(1).max(256) }, async (sb, a) => {
    const [p, logs] = await Promise.all([sb.getProcess(a.id), sb.getProcessLogs(a.id)]);
    const state = p.status === "running" ? "running" : `${p.status}${p.exitCode === null || p.exitCode === undefined ? "" : `, exit code ${p.exitCode}`}`;
    return text(`status: ${state}\n--- stdout ---\n${clip(logs.stdout)}\n--- stderr ---\n${clip(logs.stderr)}`);
  });

  tool("expose_port", "Give a port a sandbox listens on a public preview URL.", { sandbox, port: z.number().int().min(1).max(65535) }, async (sb, a) => {
    const p = await sb.exposePort(a.port);
    return text(`port ${p.port} is at ${p.url}`);
  });

  server.registerResource(
    "sandbox-file",
    new ResourceTemplate("burrow://sandboxes/{sandbox}/files{+path}", { list: undefined }),
    { description: "A file in a sandbox, e.g. burrow://sandboxes/dev/files/workspace/notes.md", mimeType: "text/plain" },
    async (uri, vars) => {
      const id = String(vars.sandbox);
      const file = String(vars.path);
      if (!sandbox.safeParse(id).success || !file.startsWith("/")) throw new Error(`${uri.href} does not name a sandbox file (burrow://sandboxes/<name>/files/<absolute path>)`);
      const r = await pool.use(id, (sb) => sb.readFile(file));
      return { contents: [{ uri: uri.href, mimeType: r.mimeType.startsWith("text/") ? r.mimeType : "text/plain", text: r.content }] };
    },
  );
  return server;
}
