import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmdirSync } from "node:fs";

/** The cgroup directory name a server on `dataDir` makes its sandboxes' cgroups under. */
export const cgroupParentOf = (dataDir: string) => `burrow-${createHash("sha256").update(dataDir).digest("hex").slice(0, 8)}`;

/** Every cgroup directory (in any hierarchy, v1 or v2) left for the server on `dataDir`. */
export function cgroupsOf(dataDir: string): string[] {
  const parent = cgroupParentOf(dataDir);
  return readdirSync("/sys/fs/cgroup")
    .map((h) => `/sys/fs/cgroup/${h}/${parent}`)
    .filter((d) => existsSync(d));
}

/** What a server on `dataDir` has left on the machine: runc containers, mounts at or under it, cgroups. */
export function leftovers(dataDir: string): { containers: string[]; mounts: string[]; cgroups: string[] } {
  const containers = existsSync(`${dataDir}/runc`)
    ? execFileSync("runc", ["--root", `${dataDir}/runc`, "list", "-q"], { encoding: "utf8" }).split("\n").filter(Boolean)
    : [];
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((mp): mp is string => !!mp && (mp === dataDir || mp.startsWith(`${dataDir}/`)));
  return { containers, mounts, cgroups: cgroupsOf(dataDir) };
}

/** Remove the cgroups a server on `dataDir` left (one killed with -9, say), deepest first. */
export function removeCgroupsOf(dataDir: string): void {
  const remove = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) remove(`${dir}/${e.name}`);
    rmdirSync(dir);
  };
  for (const d of cgroupsOf(dataDir)) remove(d);
}
