/** Workspace archives as the SDK sees them: the shared tar check, its refusals as SandboxArchiveError. */
import { resolveSandboxArchiveLimits, SandboxArchiveError, type SandboxArchiveLimits } from "@openai/agents/sandbox";
import { checkTar, TarCheckError, type TarSummary } from "../../lib/workspace-archive.js";

export function checkWorkspaceTar(bytes: Uint8Array, limits: SandboxArchiveLimits | null | undefined, protectedPaths: string[] = []): TarSummary {
  try {
    return checkTar(bytes, resolveSandboxArchiveLimits(limits), protectedPaths);
  } catch (err) {
    if (err instanceof TarCheckError) throw new SandboxArchiveError(`Invalid workspace tar archive: ${err.reason}.`, { provider: "burrow", reason: err.reason, ...err.details });
    throw err;
  }
}
