import { execFile, spawn } from "node:child_process";
import { openSync, closeSync } from "node:fs";

export interface RuncState {
  id: string;
  pid: number;
  /** created, running, paused or stopped */
  status: string;
  created: string;
}

/** Thin wrapper over the runc binary, scoped to one state directory (one server). */
export class Runc {
  constructor(
    private readonly binary: string,
    private readonly stateDir: string,
  ) {}

  private exec(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(this.binary, ["--root", this.stateDir, ...args], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`runc ${args[0]} failed: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      });
    });
  }

  /** `runc run -d`: returns once the container's process has started; its stdio goes to logFile. */
  run(id: string, bundle: string, logFile: string): Promise<void> {
    const fd = openSync(logFile, "a");
    return new Promise((resolve, reject) => {
      // --no-new-keyring: a session keyring per container counts against the kernel's
      // 200-keys-per-uid quota (every sandbox is uid 100000), capping a machine at ~200
      // sandboxes; seccomp refuses every keyring call inside anyway.
      const child = spawn(this.binary, ["--root", this.stateDir, "run", "-d", "--no-new-keyring", "--pid-file", `${bundle}/pid`, "--bundle", bundle, id], {
        stdio: ["ignore", fd, fd],
      });
      closeSync(fd);
      child.on("error", reject);
      child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`runc run exited with ${code}; see ${logFile}`))));
    });
  }

  /** Kill and remove a container; a missing one is not an error. */
  async delete(id: string): Promise<void> {
    await this.exec(["delete", "--force", id]).catch((err: Error) => {
      if (!/does not exist|not exist/.test(err.message)) throw err;
    });
  }

  /** Freeze every process of a container (cgroup freezer); `resume` thaws them. */
  async pause(id: string): Promise<void> {
    await this.exec(["pause", id]);
  }

  async resume(id: string): Promise<void> {
    await this.exec(["resume", id]);
  }

  private early: Promise<RuncState[]> | undefined;

  /**
   * Start listing now, for the next `states()`: a server start asks for the list while its mounts are
   * being made (nothing of this server runs containers yet, so the list cannot be stale by then in any
   * way re-attaching does not already handle: a container that stopped meanwhile fails its health check).
   */
  listEarly(): void {
    this.early = this.readStates();
    this.early.catch(() => {});
  }

  /** Every container in this state directory with its init's pid, status and start time (live restore reads these at start). */
  async states(): Promise<RuncState[]> {
    const early = this.early;
    this.early = undefined;
    return early ?? this.readStates();
  }

  private async readStates(): Promise<RuncState[]> {
    const out = await this.exec(["list", "--format", "json"]).catch(() => "null");
    const rows = (JSON.parse(out.trim() || "null") ?? []) as { id: string; pid: number; status: string; created: string }[];
    return rows.map((r) => ({ id: r.id, pid: r.pid, status: r.status, created: r.created }));
  }

  async list(): Promise<string[]> {
    const out = await this.exec(["list", "-q"]).catch(() => "");
    return out.split("\n").filter(Boolean);
  }
}
