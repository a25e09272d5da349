import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const pexec = promisify(execFile);

/**
 * Mount the sandbox's root: image layers read-only below, its own upper layer
 * on top. The layers are named through links in a small directory beside the
 * mount point, and the mount is made from there with relative names, so the
 * options the sandbox can read in its mountinfo (`lowerdir=1:0,upperdir=u`)
 * say nothing about host paths, and stay short however deep the stack.
 */
export async function mountOverlay(lowers: string[], upper: string, work: string, target: string): Promise<void> {
  const view = join(dirname(target), "layers-view");
  rmSync(view, { recursive: true, force: true });
  mkdirSync(view, { mode: 0o700 });
  const names = lowers.map((l, i) => {
    const n = String(lowers.length - 1 - i);
    symlinkSync(l, join(view, n));
    return n;
  });
  symlinkSync(upper, join(view, "u"));
  symlinkSync(work, join(view, "w"));
  await pexec("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${names.join(":")},upperdir=u,workdir=w`, target], { cwd: view });
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
