import { existsSync, mkdirSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { copyTree, removeTree } from "../confine/index.js";

/**
 * Snapshot layers on disk: `<dir>/<id>` is an overlay lower layer, never
 * written after it is complete. New layers are built under `.tmp-*` and
 * renamed into place, so a crash never leaves a half layer under a real id.
 * Layer contents are sandbox-made: they are only removed whole (see src/confine).
 */
export class LayerStore {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o711 });
  }

  path(id: string): string {
    if (!/^snap-[a-f0-9]{12}$/.test(id)) throw new Error(`not a snapshot id: ${JSON.stringify(id)}`);
    return join(this.dir, id);
  }

  has(id: string): boolean {
    return existsSync(this.path(id));
  }

  /** Remove layers that a crash left half-built. */
  async cleanTemporary(): Promise<void> {
    for (const name of readdirSync(this.dir)) if (name.startsWith(".tmp-")) await removeTree(join(this.dir, name));
  }

  /** A fresh directory to build a layer in; `commit` moves it under its id. */
  staging(id: string): { dir: string; commit(): void; abort(): Promise<void> } {
    const dir = join(this.dir, `.tmp-${id}-${process.pid}-${Date.now().toString(36)}`);
    this.path(id);
    mkdirSync(dir, { mode: 0o755 });
    return {
      dir,
      commit: () => renameSync(dir, this.path(id)),
      abort: () => removeTree(dir),
    };
  }

  /**
   * Take a directory over as a layer by renaming it (no bytes copied). A
   * sandbox whose directory is a subvolume with a disk limit of its own
   * (sandboxes/disk-quota.ts) cannot give a directory away by rename (btrfs
   * answers EXDEV across subvolumes): its files are cloned (copy_file_range
   * shares the extents, so only metadata is written) and the original
   * removed, which also takes them off the sandbox's quota.
   */
  async adopt(id: string, from: string): Promise<void> {
    try {
      renameSync(from, this.path(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
      const stage = this.staging(id);
      try {
        await copyTree(from, stage.dir);
        stage.commit();
      } catch (e) {
        await stage.abort();
        throw e;
      }
      await removeTree(from);
    }
  }

  remove(id: string): Promise<void> {
    return removeTree(this.path(id));
  }
}
