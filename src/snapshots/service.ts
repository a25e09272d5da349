import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { chownSync, mkdirSync } from "node:fs";
import { copyTree, mergeLayers, removeTree, shiftOwners } from "../confine/index.js";
import { BurrowError, type SnapshotInfo } from "../contract/index.js";
import type { DiskView, SandboxManager } from "../sandboxes/index.js";
import { type SnapshotCatalog, type SnapshotRecord, toInfo } from "./catalog.js";
import type { LayerStore } from "./layer-store.js";


export interface SnapshotServiceOptions {
  /** Chains longer than this are flattened into one layer when the next snapshot is taken. */
  maxDepth: number;
}

const newId = () => `snap-${randomBytes(6).toString("hex")}`;

/**
 * Snapshots: freezing a sandbox's upper layer into an immutable layer, and
 * standing new sandboxes on it. Restoring and forking stack layers, so they
 * cost the same whatever the disk holds.
 */
export class SnapshotService {
  constructor(
    private readonly catalog: SnapshotCatalog,
    private readonly layers: LayerStore,
    private readonly sandboxes: SandboxManager,
    private readonly options: SnapshotServiceOptions,
  ) {
    void layers.cleanTemporary().catch((err: Error) => console.error(`burrow: could not remove half-built layers: ${err.message}`));
    // A crash between recording a snapshot and moving its layer in leaves a row with no files.
    for (const s of catalog.all()) if (!layers.has(s.id)) catalog.delete(s.id);
    sandboxes.useSnapshots({
      resolve: (sid) => {
        const s = this.record(sid);
        return { layers: [s.id, ...s.parents], image: s.image, imageVersion: s.imageVersion };
      },
      onSleep: (disk) => this.freezeSleeping(disk, "sleep").then(() => {}),
      onDestroyed: () => void this.collect().catch((err: Error) => console.error(`burrow: could not remove unused snapshot layers: ${err.message}`)),
    });
  }

  list(): SnapshotInfo[] {
    return this.catalog.all().map(toInfo);
  }

  get(sid: string): SnapshotInfo {
    return toInfo(this.record(sid));
  }

  record(sid: string): SnapshotRecord {
    const s = this.catalog.get(sid);
    if (!s) throw new BurrowError("SNAPSHOT_NOT_FOUND", `no snapshot ${sid}; GET /v1/snapshots lists them`, { id: sid });
    return s;
  }

  /**
   * Freeze a sandbox's disk. A running sandbox is paused while its upper
   * layer is copied; a sleeping one gives its upper layer up whole (no copy)
   * and stands on the new snapshot from then on.
   */
  async create(sandboxId: string): Promise<SnapshotInfo> {
    return this.sandboxes.withDisk(sandboxId, async (disk) => {
      if (!disk.running) return toInfo(await this.freezeSleeping(disk, "user"));
      const sid = newId();
      const flatten = disk.layers.length + 1 > this.options.maxDepth;
      await this.build(sid, async (dir) => {
        await (flatten ? mergeLayers([...disk.layers.map((l) => this.layers.path(l)).reverse(), disk.upper], dir) : copyTree(disk.upper, dir));
        // The copy is owned by the sandbox's range; a layer is stored in the canonical one.
        await shiftOwners(dir, disk.uidBase);
      });
      return toInfo(await this.saveRecord(sid, disk, "user", flatten ? [] : disk.layers));
    });
  }

  /** Restore or fork: make new sandboxes standing on a snapshot; all of them or none. */
  async fork(sid: string, names: string[]): Promise<{ id: string }[]> {
    this.record(sid);
    for (const n of names)
      if (this.sandboxes.has(n)) throw new BurrowError("SANDBOX_EXISTS", `sandbox ${n} already exists; pick names that are free`, { id: n });
    if (new Set(names).size !== names.length) throw new BurrowError("BAD_REQUEST", "fork names must differ from each other");
    const results = await Promise.allSettled(names.map((n) => this.sandboxes.ensure(n, { fromSnapshot: sid })));
    const failed = results.find((r) => r.status === "rejected");
    if (failed) {
      await Promise.all(results.map((r, i) => (r.status === "fulfilled" ? this.sandboxes.destroy(names[i]!).catch(() => {}) : undefined)));
      throw (failed as PromiseRejectedResult).reason;
    }
    return results.map((r) => (r as PromiseFulfilledResult<{ info: { id: string } }>).value.info);
  }

  /** Delete a snapshot nobody stands on (no sandbox, no later snapshot). */
  async delete(sid: string): Promise<void> {
    this.record(sid);
    // Sandboxes the warm pool keeps ready on it were never asked for: they do not keep it, and go with it.
    const users = this.users(sid, { pooled: false });
    if (users.sandboxes.length || users.snapshots.length)
      throw new BurrowError(
        "SNAPSHOT_IN_USE",
        `snapshot ${sid} is still under ${[...users.sandboxes.map((s) => `sandbox ${s}`), ...users.snapshots.map((s) => `snapshot ${s}`)].join(", ")}; destroy or delete those first`,
        { id: sid, ...users },
      );
    await this.sandboxes.releasePooled(sid);
    this.catalog.delete(sid);
    await this.layers.remove(sid);
    await this.collect();
  }

  /** Record that an archive of this snapshot is in the blob store. */
  markPushed(sid: string, archive: NonNullable<SnapshotRecord["archive"]>): void {
    this.catalog.put({ ...this.record(sid), archive });
  }

  private users(sid: string, opts = { pooled: true }): { sandboxes: string[]; snapshots: string[] } {
    const sandboxes = [...this.sandboxes.layersInUse(opts)].filter(([, layers]) => layers.includes(sid)).map(([id]) => id);
    const snapshots = this.catalog.all().filter((s) => s.parents.includes(sid)).map((s) => s.id);
    return { sandboxes, snapshots };
  }

  /** Snapshots taken as sandboxes slept go away once nothing stands on them. */
  private async collect(): Promise<void> {
    for (let changed = true; changed; ) {
      changed = false;
      for (const s of this.catalog.all()) {
        if (s.kind !== "sleep") continue;
        const u = this.users(s.id);
        if (u.sandboxes.length || u.snapshots.length) continue;
        this.catalog.delete(s.id);
        await this.layers.remove(s.id);
        changed = true;
      }
    }
  }

  /** A sleeping sandbox's upper layer becomes the snapshot; the sandbox goes on from a fresh one on top. */
  private async freezeSleeping(disk: DiskView, kind: SnapshotRecord["kind"]): Promise<SnapshotRecord> {
    const sid = newId();
    const flatten = disk.layers.length + 1 > this.options.maxDepth;
    const parents = flatten ? [] : disk.layers;
    if (flatten)
      await this.build(sid, async (dir) => {
        await mergeLayers([...disk.layers.map((l) => this.layers.path(l)).reverse(), disk.upper], dir);
        await shiftOwners(dir, disk.uidBase);
      });
    const record = await this.saveRecord(sid, disk, kind, parents, flatten ? undefined : disk.upper);
    await disk.rebase([sid, ...parents], async (upper) => {
      if (flatten) await removeTree(upper);
      else await this.layers.adopt(sid, upper);
      // The upper layer was written in the sandbox's own range; as a layer it is stored in the canonical one.
      if (!flatten) await shiftOwners(this.layers.path(sid), disk.uidBase);
      mkdirSync(upper, { mode: 0o755 });
      // Root inside the sandbox owns the root of its upper layer.
      chownSync(upper, disk.uidBase, disk.uidBase);
    });
    await this.collect();
    return record;
  }

  /** Fill a staging directory and move it under its id; nothing is left behind on failure. */
  private async build(sid: string, fill: (dir: string) => Promise<void>): Promise<void> {
    const stage = this.layers.staging(sid);
    try {
      await fill(stage.dir);
      stage.commit();
    } catch (err) {
      await stage.abort();
      throw err;
    }
  }

  private async saveRecord(sid: string, disk: DiskView, kind: SnapshotRecord["kind"], parents: string[], measure?: string): Promise<SnapshotRecord> {
    const record: SnapshotRecord = {
      id: sid,
      sandboxId: disk.id,
      image: disk.image,
      imageVersion: disk.imageVersion,
      kind,
      parents,
      sizeBytes: 0,
      createdAt: new Date().toISOString(),
      archive: null,
    };
    record.sizeBytes = await duBytes(measure ?? this.layers.path(sid));
    this.catalog.put(record);
    return record;
  }
}

function duBytes(dir: string): Promise<number> {
  return new Promise((resolve) => execFile("du", ["-sb", dir], (err, out) => resolve(err ? 0 : Number(out.split("\t")[0]) || 0)));
}
