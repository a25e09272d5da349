import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Where each cgroup hierarchy is mounted (v1 controllers and the unified v2 tree), from /proc/self/mountinfo. */
export function cgroupRoots(): { root: string; controllers: string[] }[] {
  const out: { root: string; controllers: string[] }[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [pre, post] = line.split(" - ");
    if (!pre || !post) continue;
    const [fstype, , superOpts = ""] = post.split(" ");
    if (fstype !== "cgroup" && fstype !== "cgroup2") continue;
    const mountPoint = pre.split(" ")[4]!;
    // Only the mount of the hierarchy's root: a bind of a subtree elsewhere is not where runc makes cgroups.
    if (pre.split(" ")[3] !== "/") continue;
    const controllers = fstype === "cgroup2" ? ["unified"] : superOpts.split(",").filter((o) => !["rw", "ro"].includes(o) && !o.includes("="));
    out.push({ root: mountPoint, controllers });
  }
  return out;
}

/** Directory of a cgroup path (as in the OCI spec's cgroupsPath) in the hierarchy that has `controller`. */
export function cgroupDir(controller: string, path: string): string | undefined {
  const h = cgroupRoots().find((r) => r.controllers.includes(controller));
  return h ? join(h.root, path) : undefined;
}

/**
 * Remove a cgroup and everything under it in every hierarchy, deepest first.
 * A cgroup directory is removed with rmdir (its files are not real files);
 * one that still has processes stays, and is reported.
 */
export function removeCgroupTree(path: string): string[] {
  const left: string[] = [];
  const remove = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) remove(join(dir, e.name));
    try {
      rmdirSync(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") left.push(dir);
    }
  };
  for (const h of cgroupRoots()) remove(join(h.root, path));
  return left;
}

/** How many times the kernel's OOM killer has struck in a memory cgroup (0 when it cannot tell). */
export function oomKills(path: string): number {
  const v1 = cgroupDir("memory", path);
  const v2 = cgroupDir("unified", path);
  for (const [file, key] of [[v1 && join(v1, "memory.oom_control"), "oom_kill"], [v2 && join(v2, "memory.events"), "oom_kill"]] as const) {
    if (!file || !existsSync(file)) continue;
    const m = new RegExp(`^${key} (\\d+)$`, "m").exec(readFileSync(file, "utf8"));
    if (m) return Number(m[1]);
  }
  return 0;
}

/**
 * A child pids cgroup for the processes a sandbox's users run, made before
 * the container starts so runc's own cgroup becomes its parent. Its limit sits
 * `reserve` below the sandbox's, so the runtime (which stays in the parent)
 * can still start processes and answer when user processes have taken every
 * pid they may. Its cgroup.procs is handed to the sandbox's root, which moves
 * each new user process there. Returns that file, or undefined without a
 * pids hierarchy.
 */
export function makeUserPidsCgroup(path: string, total: number, reserve: number, owner: number): string | undefined {
  const dir = cgroupDir("pids", path);
  if (!dir) return undefined;
  const user = join(dir, "user");
  mkdirSync(user, { recursive: true });
  writeFileSync(join(user, "pids.max"), String(Math.max(1, total - reserve)));
  const procs = join(user, "cgroup.procs");
  chownSync(procs, owner, owner);
  return procs;
}
