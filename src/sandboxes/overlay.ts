import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";

const pexec = promisify(execFile);

/** Mount the sandbox's root: image layers read-only below, its own upper layer on top. */
export async function mountOverlay(lowers: string[], upper: string, work: string, target: string): Promise<void> {
  await pexec("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lowers.join(":")},upperdir=${upper},workdir=${work}`, target]);
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
