import { execFile } from "node:child_process";
import { mkdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { isMounted, unmount } from "./overlay.js";

const pexec = promisify(execFile);

export interface Views {
  /** Where the Node kit and the runtime are bound from: inside a read-only overlay whose options name no host path. */
  nodeKitDir: string;
  runtimeDir: string;
  /** A tmpfs holding each running sandbox's run directory (sockets, its CA bundle). */
  runRoot: string;
  release(): Promise<void>;
}

/**
 * A sandbox reads /proc/self/mountinfo, which shows each mount's source
 * path within its filesystem and overlay's options. So what is bound into a
 * sandbox comes from places whose paths say nothing about the host: the Node
 * kit and the runtime from an overlay mounted with relative lower
 * directories (`lowerdir=node-kit:runtime`), and the run directories from a
 * tmpfs of their own (`/<sandbox id>`).
 */
export async function mountViews(dataDir: string, nodeKitDir: string, runtimeDir: string): Promise<Views> {
  const kit = join(dataDir, "kit");
  const runRoot = join(dataDir, "run");
  for (const d of [kit, runRoot]) mkdirSync(d, { recursive: true, mode: 0o711 });
  // The kit is mounted afresh, so new sandboxes get this build's runtime; sandboxes a previous server
  // left running (live restore) keep theirs through their own bind mounts of the old, detached one.
  if (isMounted(kit)) await unmount(kit);
  const kitParent = dirname(nodeKitDir);
  const runtimeParent = dirname(runtimeDir);
  if (dirname(kitParent) !== dirname(runtimeParent)) throw new Error(`the Node kit (${nodeKitDir}) and the runtime (${runtimeDir}) must share a cache directory`);
  // The run tmpfs is kept when a previous server left it: running sandboxes' sockets are in it, and
  // they see only this one. The manager removes the directories of sandboxes it does not re-attach.
  // Both mounts from one shell: each process the server spawns costs it a few ms at start.
  const run = isMounted(runRoot) ? "" : '; mount -t tmpfs -o mode=0711,nosuid,nodev burrow-run "$3"';
  await pexec("sh", ["-ec", `mount -t overlay burrow-kit -o "ro,lowerdir=$1" "$2"${run}`, "sh", `${basename(kitParent)}:${basename(runtimeParent)}`, kit, runRoot], { cwd: dirname(kitParent) });
  return {
    nodeKitDir: join(kit, basename(nodeKitDir)),
    runtimeDir: join(kit, basename(runtimeDir)),
    runRoot,
    release: async () => {
      await unmount(kit);
      await unmount(runRoot);
    },
  };
}
