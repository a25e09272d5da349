import type Database from "better-sqlite3";
import { openDatabase } from "../lib/sqlite.js";
import type { BackupInfo } from "../contract/index.js";

interface Row {
  id: string;
  sandbox_id: string;
  dir: string;
  name: string | null;
  size_bytes: number;
  files: number;
  digest: string;
  created_at: string;
  expires_at: string;
}

const fromRow = (r: Row): BackupInfo => ({
  id: r.id,
  sandboxId: r.sandbox_id,
  dir: r.dir,
  name: r.name,
  sizeBytes: r.size_bytes,
  files: r.files,
  digest: r.digest,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});

/** The backups table, in the server's SQLite database. */
export class BackupCatalog {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(file: string) {
    this.db = openDatabase(file);
    this.db.exec(`CREATE TABLE IF NOT EXISTS backups (
      id TEXT PRIMARY KEY, sandbox_id TEXT NOT NULL, dir TEXT NOT NULL, name TEXT,
      size_bytes INTEGER NOT NULL, files INTEGER NOT NULL, digest TEXT NOT NULL,
      created_at TEXT NOT NULL, expires_at TEXT NOT NULL
    )`);
    this.stmts = {
      get: this.db.prepare<[string], Row>("SELECT * FROM backups WHERE id = ?"),
      all: this.db.prepare<[], Row>("SELECT * FROM backups ORDER BY created_at, id"),
      expired: this.db.prepare<[string], Row>("SELECT * FROM backups WHERE expires_at <= ?"),
      put: this.db.prepare(`INSERT INTO backups (id, sandbox_id, dir, name, size_bytes, files, digest, created_at, expires_at)
        VALUES (@id, @sandboxId, @dir, @name, @sizeBytes, @files, @digest, @createdAt, @expiresAt)`),
      del: this.db.prepare<[string]>("DELETE FROM backups WHERE id = ?"),
    };
  }

  get(id: string): BackupInfo | undefined {
    const r = this.stmts.get.get(id);
    return r ? fromRow(r) : undefined;
  }

  all(): BackupInfo[] {
    return this.stmts.all.all().map(fromRow);
  }

  expired(now: string): BackupInfo[] {
    return this.stmts.expired.all(now).map(fromRow);
  }

  put(b: BackupInfo): void {
    this.stmts.put.run(b);
  }

  delete(id: string): void {
    this.stmts.del.run(id);
  }

  close(): void {
    this.db.close();
  }
}
