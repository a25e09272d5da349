import type Database from "better-sqlite3";
import { openDatabase } from "../lib/sqlite.js";
import type { SnapshotInfo } from "../contract/index.js";

/** One snapshot as kept on disk: its layer plus the layers it stands on, top first. */
export interface SnapshotRecord {
  id: string;
  sandboxId: string;
  image: string;
  /** The image version under its layers (absent for one pulled from a server that did not say). */
  imageVersion?: string;
  kind: "user" | "sleep";
  /** The layers below this one, top first (empty when it holds everything since the image). */
  parents: string[];
  sizeBytes: number;
  createdAt: string;
  archive: { digest: string; sizeBytes: number; pushedAt: string } | null;
}

interface Row {
  id: string;
  sandbox_id: string;
  image: string;
  image_version: string | null;
  kind: string;
  parents: string;
  size_bytes: number;
  created_at: string;
  archive: string | null;
}

const fromRow = (r: Row): SnapshotRecord => ({
  id: r.id,
  sandboxId: r.sandbox_id,
  image: r.image,
  ...(r.image_version ? { imageVersion: r.image_version } : {}),
  kind: r.kind as SnapshotRecord["kind"],
  parents: JSON.parse(r.parents),
  sizeBytes: r.size_bytes,
  createdAt: r.created_at,
  archive: r.archive ? JSON.parse(r.archive) : null,
});

export const toInfo = (s: SnapshotRecord): SnapshotInfo => ({
  id: s.id,
  sandboxId: s.sandboxId,
  image: s.image,
  imageVersion: s.imageVersion ?? null,
  kind: s.kind,
  parent: s.parents[0] ?? null,
  depth: s.parents.length + 1,
  sizeBytes: s.sizeBytes,
  createdAt: s.createdAt,
  archive: s.archive,
});

/** The snapshots table, in the server's SQLite database. */
export class SnapshotCatalog {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(
    file: string,
    /** Called after a snapshot is recorded or deleted (what image versions are stood on changed). */
    private readonly onChange: () => void = () => {},
  ) {
    this.db = openDatabase(file);
    this.db.exec(`CREATE TABLE IF NOT EXISTS snapshots (
      id TEXT PRIMARY KEY,
      sandbox_id TEXT NOT NULL,
      image TEXT NOT NULL,
      kind TEXT NOT NULL,
      parents TEXT NOT NULL,
      size_bytes INTEGER NOT NULL,
      created_at TEXT NOT NULL,
      archive TEXT
    )`);
    if (!(this.db.prepare("PRAGMA table_info(snapshots)").all() as { name: string }[]).some((c) => c.name === "image_version"))
      this.db.exec("ALTER TABLE snapshots ADD COLUMN image_version TEXT");
    // Digests of the manifests this server pushed: a pulled manifest is trusted when it is one of these.
    this.db.exec(`CREATE TABLE IF NOT EXISTS pushed_manifests (id TEXT PRIMARY KEY, digest TEXT NOT NULL)`);
    this.stmts = {
      pushedGet: this.db.prepare<[string], { digest: string }>("SELECT digest FROM pushed_manifests WHERE id = ?"),
      pushedPut: this.db.prepare<[string, string]>("INSERT OR REPLACE INTO pushed_manifests (id, digest) VALUES (?, ?)"),
      get: this.db.prepare<[string], Row>("SELECT * FROM snapshots WHERE id = ?"),
      all: this.db.prepare<[], Row>("SELECT * FROM snapshots ORDER BY created_at, id"),
      put: this.db.prepare(`INSERT OR REPLACE INTO snapshots (id, sandbox_id, image, image_version, kind, parents, size_bytes, created_at, archive)
        VALUES (@id, @sandbox_id, @image, @image_version, @kind, @parents, @size_bytes, @created_at, @archive)`),
      del: this.db.prepare<[string]>("DELETE FROM snapshots WHERE id = ?"),
    };
  }

  get(id: string): SnapshotRecord | undefined {
    const r = this.stmts.get.get(id);
    return r ? fromRow(r) : undefined;
  }

  all(): SnapshotRecord[] {
    return this.stmts.all.all().map(fromRow);
  }

  put(s: SnapshotRecord): void {
    this.stmts.put.run({
      id: s.id,
      sandbox_id: s.sandboxId,
      image: s.image,
      image_version: s.imageVersion ?? null,
      kind: s.kind,
      parents: JSON.stringify(s.parents),
      size_bytes: s.sizeBytes,
      created_at: s.createdAt,
      archive: s.archive ? JSON.stringify(s.archive) : null,
    });
    this.onChange();
  }

  /** Remember the digest of a manifest this server wrote to the blob store. */
  rememberPushed(id: string, digest: string): void {
    this.stmts.pushedPut.run(id, digest);
  }

  pushedDigest(id: string): string | undefined {
    return this.stmts.pushedGet.get(id)?.digest;
  }

  delete(id: string): void {
    this.stmts.del.run(id);
    this.onChange();
  }

  close(): void {
    this.db.close();
  }
}
