import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { isMounted, unmount } from "./overlay.js";

const pexec = promisify(execFile);

/**
 * Bind a data directory onto itself with nosuid,nodev (and private
 * propagation), so a setuid binary or a device node that a sandbox made in
 * its upper layer or a snapshot layer means nothing to a host user who finds
 * it there. Returns the undo, for server shutdown.
 */
export async function mountNosuid(dir: string): Promise<() => Promise<void>> {
  if (!isMounted(dir)) {
    await pexec("mount", ["--bind", dir, dir]);
    await pexec("mount", ["--make-private", dir]);
  }
  await pexec("mount", ["-o", "remount,bind,nosuid,nodev", dir]);
  return () => unmount(dir);
}
