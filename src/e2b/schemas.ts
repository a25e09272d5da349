import { z } from "zod";

/*
 * What the E2B SDK sends, as zod schemas. Messages of envd are proto3 JSON:
 * fields at their default value are left out, so nearly everything is
 * optional; unknown fields are dropped rather than refused, so a newer SDK
 * that adds a field keeps working.
 */

// The same rules as Burrow's own env maps: names a shell accepts, no NUL in values (it would cut them short).
const Env = z.record(
  z.string().max(4096).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: "environment variable names are letters, digits and underscores" }),
  z.string().max(128 * 1024).refine((v) => !v.includes("\0"), { message: "environment values cannot contain NUL" }),
);
const Path = z.string().min(1, { message: "give a path" }).max(4096).refine((p) => !p.includes("\0"), { message: "paths cannot contain NUL" });
const Base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, { message: "bytes are sent as base64" });

// ---- control plane (REST, E2B_API_URL) ----

export const CreateSandboxBody = z.object({
  templateID: z.string().min(1).max(200),
  /** Seconds; E2B's lifetime, Burrow's idle time before sleeping. */
  timeout: z.number().int().min(1).max(30 * 24 * 3600).optional(),
  envVars: Env.optional(),
  metadata: z.record(z.string().max(48), z.string().max(256)).optional(),
  autoPause: z.boolean().optional(),
  allow_internet_access: z.boolean().optional(),
});

export const ConnectSandboxBody = z.object({ timeout: z.number().int().min(1).max(30 * 24 * 3600).optional() });
export const TimeoutBody = z.object({ timeout: z.number().int().min(0).max(30 * 24 * 3600) });

export const ListSandboxesQuery = z.object({
  metadata: z.string().max(8192).optional(),
  state: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  nextToken: z.string().max(200).optional(),
});

// ---- envd: process.Process ----

export const ProcessSelector = z.object({ pid: z.number().int().min(0).optional(), tag: z.string().max(256).optional() });

export const StartRequest = z.object({
  process: z.object({
    cmd: z.string().min(1, { message: "process.cmd names the program to run" }).max(4096).refine((v) => !v.includes("\0"), { message: "cmd cannot contain NUL" }),
    args: z.array(z.string().max(1024 * 1024).refine((v) => !v.includes("\0"), { message: "arguments cannot contain NUL" })).max(10_000).optional(),
    envs: Env.optional(),
    cwd: z.string().max(4096).optional(),
  }),
  pty: z.lazy(() => PtySize).optional(),
  tag: z.string().max(256).optional(),
  stdin: z.boolean().optional(),
});

export const ConnectRequest = z.object({ process: ProcessSelector });
export const SendInputRequest = z.object({
  process: ProcessSelector,
  input: z.object({ stdin: Base64.optional(), pty: Base64.optional() }),
});
export const SendSignalRequest = z.object({
  process: ProcessSelector,
  signal: z.union([z.enum(["SIGNAL_UNSPECIFIED", "SIGNAL_SIGTERM", "SIGNAL_SIGKILL"]), z.number().int()]).optional(),
});
export const ListRequest = z.object({});
export const CloseStdinRequest = z.object({ process: ProcessSelector });
const PtySize = z.object({ size: z.object({ cols: z.number().int().min(0).optional(), rows: z.number().int().min(0).optional() }).optional() });
export const UpdateRequest = z.object({ process: ProcessSelector, pty: PtySize.optional() });

// ---- envd: filesystem.Filesystem ----

export const PathRequest = z.object({ path: Path });
export const MoveRequest = z.object({ source: Path, destination: Path });
export const ListDirRequest = z.object({ path: Path, depth: z.number().int().min(0).max(64).optional() });
export const WatchDirRequest = z.object({
  path: Path,
  recursive: z.boolean().optional(),
  includeEntry: z.boolean().optional(),
  allowNetworkMounts: z.boolean().optional(),
});

// ---- envd HTTP ----

export const FilesQuery = z.object({ path: z.string().max(4096).optional(), username: z.string().max(64).optional() });

// ---- code interpreter ----

export const ExecuteBody = z.object({
  code: z.string().max(10 * 1024 * 1024),
  context_id: z.string().max(64).optional(),
  language: z.string().max(32).optional(),
  env_vars: z.record(z.string(), z.string()).optional(),
});

export const CreateContextBody = z.object({
  language: z.string().max(32).optional(),
  cwd: z.string().max(4096).optional(),
});

export type StartRequest = z.infer<typeof StartRequest>;
export type ProcessSelector = z.infer<typeof ProcessSelector>;
