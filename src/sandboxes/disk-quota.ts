import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { BurrowError, type Limits } from "../contract/index.js";
import { report } from "../observability/channels.js";

const pexec = promisify(execFile);

/** What `GET /v1/status` says about disk limits. */
export interface DiskLimitsStatus {
  enforced: boolean;
  /** The kernel mechanism in force. */
  mechanism?: "btrfs-qgroups";
  /** What a sandbox created without `limits.diskMB` gets (absent: no limit). */
  defaultMB?: number;
  /** Why limits are not enforced, and how to enable them. */
  reason?: string;
}

/** The default for `--default-disk-mb`: a sandbox may write this much unless it asks otherwise. */
export const DEFAULT_DISK_MB = 10240;

const HOW_TO =
  "put the data directory on a btrfs filesystem with quotas enabled (`btrfs quota enable <mount>`; `burrow serve --data-volume SIZE` makes one), see docs/security.md#disk-limits";

function helper(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const c of [join(here, "burrow-diskquota"), join(here, "..", "burrow-diskquota"), join(here, "..", "..", "dist", "burrow-diskquota")]) if (existsSync(c)) return c;
  throw new Error("dist/burrow-diskquota is missing: run npm run build");
}

/**
 * Per-sandbox disk limits. Where the data directory is on btrfs with quota
 * groups on, each sandbox's directory (upper layer, work directory, log) is
 * a subvolume of its own whose quota group may reference at most
 * `limits.diskMB`; the kernel answers writes past it with EDQUOT ("Disk quota
 * exceeded"). The limit lives in the filesystem (so it holds across restarts
 * and needs no id of ours to allocate: the subvolume's id is its quota
 * group's), is set again at every start, and goes with the subvolume when the
 * sandbox is destroyed. Snapshot layers live outside every sandbox's
 * subvolume (the layer store), so they never count against a sandbox.
 */
export class DiskQuota {
  private warned = new Set<string>();

  private constructor(
    readonly enforced: boolean,
    private readonly defaultMB: number,
    private readonly reason?: string,
  ) {}

  /** Find out whether `sandboxesDir`'s filesystem can hold per-sandbox limits. */
  static async probe(sandboxesDir: string, defaultMB = DEFAULT_DISK_MB): Promise<DiskQuota> {
    let out: string;
    try {
      out = (await pexec(helper(), ["probe", sandboxesDir])).stdout.trim();
    } catch (err) {
      return new DiskQuota(false, 0, `disk limits could not be checked (${(err as Error).message.trim()}); ${HOW_TO}`);
    }
    const [fs, mode] = out.split(" ");
    if (fs !== "btrfs") return new DiskQuota(false, 0, `the data directory's filesystem has no per-directory quotas Burrow uses; ${HOW_TO}`);
    if (mode !== "qgroup")
      return new DiskQuota(false, 0,
        mode === "squota"
          ? "the data directory's btrfs has simple quotas, which would charge snapshot layers to the sandbox that wrote them; switch to full quota groups (`btrfs quota disable <mount> && btrfs quota enable <mount>`)"
          : `the data directory is on btrfs with quotas off; run \`btrfs quota enable <mount>\` and restart the server (${HOW_TO})`);
    return new DiskQuota(true, defaultMB);
  }

  /** A server whose disk limits are off (tests and tools that build a manager by hand). */
  static off(reason = `disk limits are off; ${HOW_TO}`): DiskQuota {
    return new DiskQuota(false, 0, reason);
  }

  status(): DiskLimitsStatus {
    if (!this.enforced) return { enforced: false, reason: this.reason };
    return { enforced: true, mechanism: "btrfs-qgroups", ...(this.defaultMB ? { defaultMB: this.defaultMB } : {}) };
  }

  /** Refuse a disk limit this server cannot enforce (before anything is made). */
  check(limits: Limits | undefined): void {
    if (limits?.diskMB !== undefined && !this.enforced)
      throw new BurrowError("LIMIT_NOT_SUPPORTED", `limits.diskMB is not enforced by this server: ${this.reason}; or leave limits.diskMB out`);
  }

  /** The limits a new sandbox gets when it does not ask for a disk size. */
  defaults(): { diskMB?: number } {
    return this.enforced && this.defaultMB ? { diskMB: this.defaultMB } : {};
  }

  /**
   * Make a sandbox's directory (a new subvolume, limited) or set the limit of
   * the one it has. A directory made while limits were off stays a plain
   * directory without a limit (said once in the log).
   */
  async prepare(dir: string, diskMB: number | undefined): Promise<void> {
    if (!this.enforced) return;
    const mb = String(diskMB ?? 0);
    if (!existsSync(dir)) {
      await pexec(helper(), ["create", dir, mb]);
      return;
    }
    try {
      await pexec(helper(), ["limit", dir, mb]);
    } catch (err) {
      if ((err as { code?: number }).code !== 3) throw err;
      if (!this.warned.has(dir)) report("warn", "sandbox.disk_unlimited", `${dir} was made before disk limits were on; its sandbox has no disk limit (destroy and create it again to get one)`, { dir });
      this.warned.add(dir);
    }
  }
}
