import { execFile } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { promisify } from "node:util";
import { dirname, join } from "node:path";
import { removeTree } from "../confine/index.js";
import { BurrowError, type SandboxCrash } from "../contract/index.js";
import { constants as osConstants } from "node:os";
import { makeUserPidsCgroup, oomKills, removeCgroupTree } from "./cgroups.js";
import { ID_OFFSET, ID_RANGE, ociSpec } from "./oci-spec.js";
import { mountOverlay, unmount } from "./overlay.js";
import { RuntimeClient } from "./runtime-client.js";
import { HostnameSetter } from "./hostname-setter.js";
import { RUNTIME_SNAPSHOT } from "../images/index.js";
import type { Runc } from "./runc.js";
import type { SandboxRecord } from "./registry.js";
import type { UidRanges } from "./uid-ranges.js";
import type { DiskQuota } from "./disk-quota.js";

const pexec = promisify(execFile);

export interface ContainerDeps {
  runc: Runc;
  sandboxesDir: string;
  cgroupParent: string;
  nodeKitDir: string;
  runtimeDir: string;
  /** The root filesystem of an image version (and a pin on it, so prune keeps it). */
  imageRootfs: (image: string, version: string) => string;
  /** The version a new sandbox stands on: `wanted` when it is still here, else the image's current one. */
  imageVersion: (image: string, wanted?: string) => string;
  /** Where a snapshot layer's files are. */
  layerDir: (snapshotId: string) => string;
  /** What every sandbox trusts beyond its image (PEM: the egress CA and the operator's extra CAs); read at each start. */
  egressCaPem?: string | (() => string);
  /** Open the egress proxy's socket at `socketPath` for the sandbox `owner()` names now; returns a closer. */
  openEgress: (owner: () => string, socketPath: string) => Promise<() => void>;
  /** Each sandbox's own host uid range; without it every sandbox runs in the canonical one (tests that need no more). */
  uids?: UidRanges;
  /** Per-sandbox disk limits (disk-quota.ts); absent: none. */
  disk?: DiskQuota;
}

/**
 * Where a sandbox's files are on the host: its disk under the sandboxes
 * directory, its run directory (sockets) on the server's run tmpfs beside it.
 */
export const sandboxPaths = (sandboxesDir: string, id: string) => {
  const dir = join(sandboxesDir, id);
  const run = join(dirname(sandboxesDir), "run", id);
  return {
    dir,
    upper: join(dir, "upper"),
    work: join(dir, "work"),
    rootfs: join(dir, "rootfs"),
    run,
    log: join(dir, "runtime.log"),
    socket: join(run, "runtime.sock"),
    egressSocket: join(run, "egress.sock"),
  };
};

/** The file in a sandbox's directory naming its runc container. */
export const CONTAINER_ID_FILE = "container-id";

/**
 * Pids kept for the runtime: user commands run in a child cgroup whose limit
 * is this much below the sandbox's (a quarter of a small limit, at most 64).
 */
export const pidsReserve = (pids: number) => Math.min(64, Math.floor(pids / 4));

/** Remove everything a sandbox has on the host: its disk and its run directory. */
export async function removeSandboxFiles(sandboxesDir: string, id: string): Promise<void> {
  const p = sandboxPaths(sandboxesDir, id);
  await removeTree(p.run);
  await removeTree(p.dir);
}

/**
 * One running sandbox: its overlay root mounted, its runc container started
 * and its runtime answering. `start` undoes what it did if any step fails.
 */
export class Container {
  client: RuntimeClient;
  private closeEgress: (() => void) | undefined;
  /** A pool slot's hostname setter, waiting for the claim (readyForAdoption). */
  private hostnameSetter: HostnameSetter | undefined;
  private paths;
  /** runc's name for it: the sandbox's, or a pool slot's when it was started ahead of need. */
  readonly containerId: string;
  /** Its cgroup (under every hierarchy), named for the container: a pool slot's keeps the slot's name. */
  readonly cgroupPath: string;
  /** The host pid of its init, once started. */
  pid = 0;
  /** When its container started (a re-attached one's is runc's record of it). */
  startedAt = Date.now();
  /** Set when it was re-attached running a runtime protocol this server does not speak. */
  outdatedProtocol: number | undefined;

  constructor(
    private record: SandboxRecord,
    private readonly deps: ContainerDeps,
    /** An existing container's runc name (live restore re-attaches one a claimed pool slot started). */
    containerId = record.id,
  ) {
    this.paths = sandboxPaths(deps.sandboxesDir, record.id);
    this.client = new RuntimeClient(this.paths.socket);
    this.containerId = containerId;
    this.cgroupPath = `${deps.cgroupParent}/${containerId}`;
  }

  /**
   * Take over a container a previous server process left running (live
   * restore): its init is `pid`; the egress socket is listened on again at the
   * same path, which the sandbox still sees through its bind mount.
   */
  async attach(pid: number, startedAt: number): Promise<void> {
    this.pid = pid;
    this.startedAt = startedAt;
    this.closeEgress = await this.deps.openEgress(() => this.record.id, this.paths.egressSocket);
  }

  /** Let go of a container that keeps running after this server process ends (live restore): its connections and egress listener close; it does not stop. */
  detach(): void {
    this.client.close();
    this.closeEgress?.();
    this.closeEgress = undefined;
  }

  /**
   * Give a container started ahead of need (the warm pool) its sandbox: its
   * directory, hostname and environment. The overlay mount and the runtime's
   * socket move with the directory.
   */
  /** A pool slot that is ready: start what will name it at its claim (see HostnameSetter). */
  readyForAdoption(): void {
    this.hostnameSetter ??= new HostnameSetter(readFileSync(join(this.paths.dir, "pid"), "utf8").trim());
  }

  async adopt(record: SandboxRecord): Promise<void> {
    const from = this.paths;
    this.paths = sandboxPaths(this.deps.sandboxesDir, record.id);
    renameSync(from.dir, this.paths.dir);
    renameSync(from.run, this.paths.run);
    // The slot's uid range is the sandbox's from now on: its upper layer and processes are already in it.
    record.uidBase = this.record.uidBase;
    this.deps.uids?.rename(this.record.id, record.id);
    this.record = record;
    this.client.close();
    this.client = new RuntimeClient(this.paths.socket);
    const setter = this.hostnameSetter;
    this.hostnameSetter = undefined;
    if (setter) await setter.set(record.id);
    else await pexec("nsenter", ["-t", readFileSync(join(this.paths.dir, "pid"), "utf8").trim(), "-u", "hostname", record.id]);
    if (Object.keys(record.env).length) await this.client.json("POST", "/env", { env: record.env });
  }

  async start(): Promise<void> {
    const p = this.paths;
    const lowers = [...this.record.layers.map((l) => this.deps.layerDir(l)), this.deps.imageRootfs(this.record.image, this.record.imageVersion)];
    // The directory is made (as a limited subvolume) or its limit set again before anything is written in it.
    await this.deps.disk?.prepare(p.dir, this.record.limits.diskMB);
    // A new sandbox (or pool slot) takes its own uid range here; the registry keeps it from then on.
    const ids = (this.record.uidBase ??= this.deps.uids?.allocate(this.record.id) ?? ID_OFFSET);
    for (const d of [p.dir, p.upper, p.work, p.rootfs]) mkdirSync(d, { recursive: true, mode: 0o711 });
    // Only root and the sandbox's own user namespace (runc's init must reach rootfs) may enter it.
    chownSync(p.dir, 0, ids);
    chmodSync(p.dir, 0o710);
    // The overlay's root directory takes its owner from the upper layer: root inside must own it.
    chownSync(p.upper, ids, ids);
    rmSync(p.run, { recursive: true, force: true });
    mkdirSync(p.run, { mode: 0o700 });
    chownSync(p.run, ids, ids);
    try {
      this.closeEgress = await this.deps.openEgress(() => this.record.id, p.egressSocket);
      // Layers are stored in the canonical range and idmapped onto the sandbox's own.
      await mountOverlay(lowers, p.dir, p.rootfs, { stored: ID_OFFSET, sandbox: ids, count: ID_RANGE });
      const pids = this.record.limits.pids;
      const userProcs = makeUserPidsCgroup(this.cgroupPath, pids, pidsReserve(pids), ids);
      const spec = ociSpec({
        hostname: this.record.id,
        rootfs: p.rootfs,
        nodeKitDir: this.deps.nodeKitDir,
        runtimeDir: this.deps.runtimeDir,
        startupSnapshot: existsSync(join(this.deps.runtimeDir, RUNTIME_SNAPSHOT)),
        runDir: p.run,
        cgroupsPath: `${this.deps.cgroupParent}/${this.record.id}`,
        memoryMB: this.record.limits.memoryMB,
        cpus: this.record.limits.cpus,
        pids,
        userProcs,
        uidBase: ids,
      });
      // The runtime reads its settings from a file it deletes at once, so they do not sit in PID 1's environ.
      writeFileSync(join(p.run, "config.json"), JSON.stringify({ env: this.record.env }), { mode: 0o600 });
      const trustPem = typeof this.deps.egressCaPem === "function" ? this.deps.egressCaPem() : this.deps.egressCaPem;
      if (trustPem) writeFileSync(join(p.run, "egress-ca.pem"), trustPem, { mode: 0o644 });
      chownSync(join(p.run, "config.json"), ids, ids);
      writeFileSync(join(p.dir, "config.json"), JSON.stringify(spec));
      writeFileSync(p.log, "");
      await this.deps.runc.run(this.containerId, p.dir, p.log);
      this.pid = Number(readFileSync(join(p.dir, "pid"), "utf8").trim());
      // Which runc container this directory belongs to, read back at live restore (it moves with the directory when a pool slot is claimed).
      writeFileSync(join(p.dir, CONTAINER_ID_FILE), this.containerId);
      await this.waitReady();
      // The runtime has made its socket: from now on the run directory is the host's alone, so
      // nothing in the sandbox can put another socket (or a link to one) where the server connects.
      chownSync(p.run, 0, 0);
      chmodSync(p.run, 0o755);
    } catch (err) {
      await this.stop().catch(() => {});
      if (err instanceof BurrowError) throw err;
      throw new BurrowError("SANDBOX_START_FAILED", `sandbox ${this.record.id} did not start: ${(err as Error).message}${this.logTail()}`);
    }
  }

  /** Hold every process still (nothing writes the disk) until `resume`. */
  pause(): Promise<void> {
    return this.deps.runc.pause(this.containerId);
  }

  resume(): Promise<void> {
    return this.deps.runc.resume(this.containerId);
  }

  /** Stop processes and unmount; the upper layer (the sandbox's disk) stays. */
  async stop(): Promise<void> {
    // `this.paths` is read after the delete: an adopted container's mount moved with its directory.
    this.client.close();
    this.hostnameSetter?.dispose();
    this.hostnameSetter = undefined;
    await this.deps.runc.delete(this.containerId);
    // runc removes the cgroups it made; the user child (and a leftover from a failed start) go here.
    removeCgroupTree(this.cgroupPath);
    this.closeEgress?.();
    this.closeEgress = undefined;
    await unmount(this.paths.rootfs);
    // The run directory lives in memory and means nothing once the runtime is gone.
    await removeTree(this.paths.run);
  }

  /**
   * Why the container's init ended, read from what is left of it (call before
   * `stop`, which removes its cgroup): the memory cgroup's OOM kill count and
   * the status burrow-init wrote to the runtime log.
   */
  exitCause(): Pick<SandboxCrash, "kind" | "reason"> {
    const oom = oomKills(this.cgroupPath) > 0;
    let tail = "";
    try {
      tail = readFileSync(this.paths.log, "utf8").slice(-4000);
    } catch {
      /* no log */
    }
    const exited = [...tail.matchAll(/burrow-init: the runtime exited with status (\d+)/g)].pop();
    const killed = [...tail.matchAll(/burrow-init: the runtime was killed by signal (\d+)/g)].pop();
    const limit = `${this.record.limits.memoryMB} MB`;
    if (oom) return { kind: "oom", reason: `out of memory: the kernel's OOM killer ended ${killed ? "the runtime" : "the sandbox's init"} at the sandbox's memory limit (${limit})` };
    if (killed) {
      const n = Number(killed[1]);
      const name = Object.entries(osConstants.signals).find(([, v]) => v === n)?.[0] ?? `signal ${n}`;
      return { kind: "runtime-killed", reason: `the runtime was killed by ${name}` };
    }
    if (exited) {
      const last = tail.split("\n").filter((l) => l && !l.startsWith("burrow-init:")).pop();
      return { kind: "runtime-exited", reason: `the runtime exited with status ${exited[1]}${last ? `; its last words: ${last.slice(0, 300)}` : ""}` };
    }
    return { kind: "init-killed", reason: "the sandbox's init ended without a status: it was killed from outside the sandbox" };
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (existsSync(this.paths.socket)) {
        try {
          await this.client.json("GET", "/health");
          return;
        } catch {
          /* listening soon */
        }
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    throw new Error("its runtime did not answer within 15 s");
  }

  private logTail(): string {
    try {
      const t = readFileSync(this.paths.log, "utf8").trim().slice(-800);
      return t ? `; runtime log: ${t}` : "";
    } catch {
      return "";
    }
  }
}
