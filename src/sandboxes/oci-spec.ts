import { seccompProfile } from "./seccomp.js";
import { RUNTIME_NODE_FLAGS, RUNTIME_SNAPSHOT } from "../images/index.js";

import { SANDBOX_ID_OFFSET as ID_OFFSET, SANDBOX_ID_RANGE as ID_RANGE } from "../confine/index.js";

/** The canonical range layers are stored in (no sandbox's own: see uid-ranges.ts), and the size of every range. */
export { ID_OFFSET, ID_RANGE };

/** Where Burrow's own files appear inside a sandbox (read-only except run/). */
export const IN_SANDBOX = {
  node: "/.burrow/node",
  runtime: "/.burrow/runtime",
  run: "/.burrow/run",
  userProcs: "/.burrow/user.procs",
} as const;

export interface SpecInput {
  hostname: string;
  rootfs: string;
  nodeKitDir: string;
  runtimeDir: string;
  /** Whether the runtime's directory holds its startup snapshot (RUNTIME_SNAPSHOT), which its Node then starts from. */
  startupSnapshot?: boolean;
  runDir: string;
  cgroupsPath: string;
  memoryMB: number;
  cpus: number;
  pids: number;
  /** cgroup.procs of the user pids cgroup, bound where burrow-enter moves user commands into it. */
  userProcs?: string;
  /** The host uid/gid root inside maps to: the first of the sandbox's own range. */
  uidBase: number;
}

// Docker's default set without NET_RAW (no raw sockets) and MKNOD.
const CAPABILITIES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID",
  "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

const bind = (source: string, destination: string, readonly: boolean) => ({
  destination,
  type: "bind",
  source,
  options: ["rbind", readonly ? "ro" : "rw", "nosuid", "nodev"],
});

/** The OCI runtime spec (config.json) runc runs a sandbox from. */
export function ociSpec(s: SpecInput) {
  const memory = s.memoryMB * 1024 * 1024;
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [
        `${IN_SANDBOX.runtime}/init`,
        `${IN_SANDBOX.node}/lib/ld-linux-x86-64.so.2`,
        "--library-path", `${IN_SANDBOX.node}/lib`,
        `${IN_SANDBOX.node}/bin/node`,
        ...RUNTIME_NODE_FLAGS,
        ...(s.startupSnapshot ? ["--snapshot-blob", `${IN_SANDBOX.runtime}/${RUNTIME_SNAPSHOT}`] : []),
        `${IN_SANDBOX.runtime}/runtime.js`,
      ],
      env: [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      ],
      cwd: "/",
      capabilities: { bounding: CAPABILITIES, effective: CAPABILITIES, permitted: CAPABILITIES, inheritable: [], ambient: [] },
      noNewPrivileges: true,
      oomScoreAdj: 500,
    },
    root: { path: s.rootfs, readonly: false },
    hostname: s.hostname,
    mounts: [
      { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      bind(s.nodeKitDir, IN_SANDBOX.node, true),
      bind(s.runtimeDir, IN_SANDBOX.runtime, true),
      bind(s.runDir, IN_SANDBOX.run, false),
      ...(s.userProcs ? [{ destination: IN_SANDBOX.userProcs, type: "bind", source: s.userProcs, options: ["bind", "rw", "nosuid", "nodev", "noexec"] }] : []),
    ],
    linux: {
      uidMappings: [{ containerID: 0, hostID: s.uidBase, size: ID_RANGE }],
      gidMappings: [{ containerID: 0, hostID: s.uidBase, size: ID_RANGE }],
      namespaces: [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "cgroup" }, { type: "user" }],
      cgroupsPath: s.cgroupsPath,
      resources: {
        devices: [{ allow: false, access: "rwm" }],
        memory: { limit: memory, swap: memory },
        cpu: { quota: Math.round(s.cpus * 100000), period: 100000 },
        pids: { limit: s.pids },
      },
      maskedPaths: [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
      seccomp: seccompProfile(),
    },
  };
}
