import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { messageOf, report } from "../observability/channels.js";

/** One image version that something in a data directory stands on. */
export interface VersionUse {
  image: string;
  version: string;
  kind: "sandbox" | "snapshot";
}

export interface UsageCount {
  sandboxes: number;
  snapshots: number;
}

interface UsageFile {
  dataDir: string;
  updatedAt: string;
  versions: Record<string, UsageCount>;
}

/**
 * Which image versions a server's sandboxes and snapshots stand on, written
 * to the shared cache (`image-users/<hash of the data directory>.json`) so
 * that `burrow image prune` and `image ls`, which run without the server,
 * know what every data directory on the machine uses. A pin is taken before a
 * sandbox's root is mounted and held until a record names that version (a
 * sandbox being created, a pool slot), or the server stops; the file is
 * rewritten from the records whenever they change, and every minute.
 */
export class ImageUsage {
  private readonly file: string;
  /** Versions pinned by starts that no record names yet. */
  private readonly pending = new Set<string>();
  private written = "";
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly cacheDir: string,
    private readonly dataDir: string,
    private readonly collect: () => VersionUse[],
  ) {
    this.file = join(usageDir(cacheDir), `${createHash("sha256").update(dataDir).digest("hex").slice(0, 16)}.json`);
  }

  start(): void {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), 60_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Record that a sandbox is about to stand on this version. */
  pin(image: string, version: string): void {
    const key = `${image}/${version}`;
    if (this.pending.has(key)) return;
    this.pending.add(key);
    this.refresh();
  }

  /** Rewrite the file from the records; a failure is logged (prune then keeps what the old file pinned). */
  refresh(): void {
    try {
      this.write();
    } catch (err) {
      report("error", "images.usage_failed", `could not record the image versions in use: ${messageOf(err)}`);
    }
  }

  private write(): void {
    const versions: Record<string, UsageCount> = {};
    for (const u of this.collect()) {
      const c = (versions[`${u.image}/${u.version}`] ??= { sandboxes: 0, snapshots: 0 });
      if (u.kind === "sandbox") c.sandboxes++;
      else c.snapshots++;
    }
    for (const key of this.pending) {
      if (versions[key]) this.pending.delete(key);
      else versions[key] = { sandboxes: 0, snapshots: 0 };
    }
    const text = JSON.stringify({ dataDir: this.dataDir, versions });
    if (text === this.written) return;
    const body: UsageFile = { dataDir: this.dataDir, updatedAt: new Date().toISOString(), versions };
    mkdirSync(usageDir(this.cacheDir), { recursive: true, mode: 0o755 });
    const tmp = `${this.file}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(body, null, 2));
    renameSync(tmp, this.file);
    this.written = text;
  }
}

const usageDir = (cacheDir: string) => join(cacheDir, "image-users");

/**
 * What every data directory on the machine stands on, summed per
 * `image/version`. Files of data directories that no longer exist are dropped.
 */
export function readUsage(cacheDir: string): Map<string, UsageCount> {
  const out = new Map<string, UsageCount>();
  let files: string[];
  try {
    files = readdirSync(usageDir(cacheDir)).filter((f) => f.endsWith(".json"));
  } catch {
    return out;
  }
  for (const f of files) {
    const path = join(usageDir(cacheDir), f);
    let u: UsageFile;
    try {
      u = JSON.parse(readFileSync(path, "utf8"));
    } catch (err) {
      // Files are replaced by rename, so this one is damaged: what it pinned is unknown, and prune must not guess.
      throw new Error(`cannot read the image usage file ${path} (${(err as Error).message}); remove it if its data directory is gone`);
    }
    if (!existsSync(u.dataDir)) {
      try {
        unlinkSync(path);
      } catch {
        /* another reader removed it */
      }
      continue;
    }
    for (const [key, c] of Object.entries(u.versions ?? {})) {
      const sum = out.get(key) ?? { sandboxes: 0, snapshots: 0 };
      out.set(key, { sandboxes: sum.sandboxes + c.sandboxes, snapshots: sum.snapshots + c.snapshots });
    }
  }
  return out;
}
