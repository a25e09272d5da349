import { readFileSync } from "node:fs";

export interface CgroupSample {
  /** CPU time the cgroup used since it was made, in seconds. */
  cpuSeconds: number;
  memoryBytes: number;
  memoryPeakBytes: number;
}

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return undefined;
  }
};

/**
 * Where a process's cgroups are, per controller: v1 has one line per
 * hierarchy (`4:memory:/path`), v2 one line `0::/path`.
 */
function cgroupsOf(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of (read(`/proc/${pid}/cgroup`) ?? "").split("\n")) {
    const [, controllers, path] = line.split(":");
    if (path === undefined || controllers === undefined) continue;
    if (controllers === "") out.set("unified", path);
    for (const c of controllers.split(",")) out.set(c, path);
  }
  return out;
}

/**
 * Read the CPU and memory of the cgroup a sandbox's init runs in. Accounting
 * is the kernel's: a busy loop counts, waiting does not. Undefined when the
 * process is gone.
 */
export function sampleCgroup(pid: number): CgroupSample | undefined {
  const cg = cgroupsOf(pid);
  if (!cg.size) return undefined;
  const v1cpu = cg.get("cpuacct");
  const v1mem = cg.get("memory");
  if (v1cpu !== undefined && v1mem !== undefined) {
    const usage = read(`/sys/fs/cgroup/cpuacct${v1cpu}/cpuacct.usage`) ?? read(`/sys/fs/cgroup/cpu,cpuacct${v1cpu}/cpuacct.usage`);
    if (usage === undefined) return undefined;
    return {
      cpuSeconds: Number(usage) / 1e9,
      memoryBytes: Number(read(`/sys/fs/cgroup/memory${v1mem}/memory.usage_in_bytes`) ?? 0),
      memoryPeakBytes: Number(read(`/sys/fs/cgroup/memory${v1mem}/memory.max_usage_in_bytes`) ?? 0),
    };
  }
  const v2 = cg.get("unified");
  if (v2 === undefined) return undefined;
  const stat = read(`/sys/fs/cgroup${v2}/cpu.stat`);
  if (stat === undefined) return undefined;
  const usec = Number(/usage_usec (\d+)/.exec(stat)?.[1] ?? 0);
  return {
    cpuSeconds: usec / 1e6,
    memoryBytes: Number(read(`/sys/fs/cgroup${v2}/memory.current`) ?? 0),
    memoryPeakBytes: Number(read(`/sys/fs/cgroup${v2}/memory.peak`) ?? 0),
  };
}
