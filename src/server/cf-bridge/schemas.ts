/** Bodies and queries of the Cloudflare bridge, as the Cloudflare sandbox client sends them. */
import { z } from "zod";
import { CString } from "../../contract/text.js";

/** The Cloudflare client requires manifest.root to be /workspace. */
export const CF_ROOT = "/workspace";

/** The SDK's default archive limits, applied to hydrate bodies. */
export const CF_ARCHIVE_LIMITS = { maxInputBytes: 1024 * 1024 * 1024, maxExtractedBytes: 4 * 1024 * 1024 * 1024, maxMembers: 100_000 };

export const CfCreateBody = z
  .object({
    exposedPorts: z.array(z.number().int().min(1).max(65535)).max(64).optional(),
    timeoutMs: z.number().int().positive().optional(),
    createTimeoutMs: z.number().int().positive().optional(),
    mounts: z.array(z.unknown()).optional(),
  })
  .strict();

export const CfExecBody = z
  .object({
    argv: z.array(CString.max(1024 * 1024)).min(1, { message: "argv needs at least the program to run" }).max(4096),
    timeout_ms: z.number().int().positive().max(24 * 3600 * 1000).optional(),
  })
  .strict();

export const CfMountBody = z.object({ bucket: z.string().optional(), mountPath: z.string().optional(), options: z.unknown().optional() }).strict();

export const CfPersistQuery = z.object({ excludes: z.string().max(64 * 1024).optional() });
