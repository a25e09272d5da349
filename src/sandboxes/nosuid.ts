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
  // One shell for the three mounts: each process the server spawns costs it a few ms at start.
  const bind = isMounted(dir) ? "" : 'mount --bind "$1" "$1"; mount --make-private "$1"; ';
  await pexec("sh", ["-ec", `${bind}mount -o remount,bind,nosuid,nodev "$1"`, "sh", dir]);
  return () => unmount(dir);
}
