import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { builtFile } from "../confine/jail.js";

const pexec = promisify(execFile);

/** How a sandbox's layers are owned on the host, and how it must see them. */
export interface LayerIds {
  /** The first id layers are stored with (the canonical range). */
  stored: number;
  /** The first id of the sandbox's own range: its upper layer is written in it. */
  sandbox: number;
  count: number;
}

/**
 * Mount the sandbox's root: image layers and snapshot layers read-only below
 * (top first in `lowers`), its own upper layer (`dir`/upper, with `dir`/work)
 * on top. burrow-idmount (idmap/) gives each lower to overlayfs as an
 * idmapped clone mapping the stored range onto the sandbox's, and passes
 * every layer as a file descriptor, so the options the sandbox reads in its
 * mountinfo (`lowerdir+=/,...,upperdir=/upper,workdir=/work`) name no host
 * path however deep the stack.
 */
export async function mountOverlay(lowers: string[], dir: string, target: string, ids: LayerIds): Promise<void> {
  await pexec(builtFile("burrow-idmount"), [target, dir, String(ids.stored), String(ids.sandbox), String(ids.count), ...lowers]);
}

export async function unmount(target: string): Promise<void> {
  if (!isMounted(target)) return;
  try {
    await pexec("umount", [target]);
  } catch {
    await pexec("umount", ["-l", target]);
  }
}

export function isMounted(target: string): boolean {
  return mountsUnder(target).includes(target);
}

/** Mount points at or below `prefix`, from /proc/self/mountinfo. */
export function mountsUnder(prefix: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const mp = line.split(" ")[4];
    if (!mp) continue;
    const decoded = mp.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (decoded === prefix || decoded.startsWith(prefix.endsWith("/") ? prefix : prefix + "/")) out.push(decoded);
  }
  return out;
}
