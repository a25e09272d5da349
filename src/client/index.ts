/**
 * `burrow/client`: the TypeScript SDK. fetch (and ws, for terminals) only: no
 * native code and no server code, so it runs wherever fetch does.
 */
export { Burrow } from "./burrow.js";
export { Sandbox, ExecutionSession } from "./sandbox.js";
export type { ExecOptions, ReadFileResult, Command, ExposedPortInfo, CodeEvent, CodeLanguage } from "./types.js";
export { BurrowApiError } from "./errors.js";
export { Process, type WaitForPortOptions } from "./process.js";
export { collectBytes } from "./transfers.js";
export type { WatchOptions } from "./watch.js";
export type { CodeContextOptions, RunCodeOptions } from "./code-contexts.js";
export { TerminalConnection, type TerminalOptions } from "./terminal.js";
export type { ConnectionConfig } from "./transport.js";
export type { ExecEvent, ExecResult, FileEntry, FileStat, SandboxInfo, EnsureSandboxBody, ProcessInfo, ProcessLogEvent, WatchEvent, CodeContextInfo, Execution, CodeResult } from "../contract/index.js";
