import Database from "better-sqlite3";
import { constants, copyFileSync, existsSync, renameSync, rmSync } from "node:fs";
import { copyFile } from "node:fs/promises";

export type SqlValue = string | number | bigint | Buffer | null;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS _burrow_kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS _burrow_schedules (
    id TEXT PRIMARY KEY,
    callback TEXT NOT NULL,
    payload TEXT,
    type TEXT NOT NULL,
    time INTEGER NOT NULL,
    cron TEXT,
    interval_s INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    running_since INTEGER,
    created_at INTEGER NOT NULL
  );`;

/**
 * An empty agent file (WAL mode, Burrow's tables) built once in `path`, so a
 * new agent's file is a copy of it rather than a WAL switch and a schema
 * written from scratch (3-4 ms of file creation and writes per agent here).
 */
export function ensureTemplate(path: string): string {
  if (existsSync(path)) return path;
  const tmp = `${path}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  const db = new Database(tmp);
  db.pragma("journal_mode = WAL");
  db.exec(SCHEMA);
  db.close(); // checkpoints: everything is in the main file, which stays in WAL mode
  renameSync(tmp, path); // whole or not at all
  return path;
}

/**
 * One agent's own SQLite file (WAL): its state, its schedules, and whatever
 * its code stores with `sql`. Opened on first use, so a new agent's copy of
 * the template can be made off the event loop first (`prepare`).
 */
export class AgentStorage {
  private handle: Database.Database | undefined;
  private getKv!: Database.Statement<[string], { value: string }>;
  private putKv!: Database.Statement<[string, string]>;
  /** The file is a copy of the template no one has written to yet. */
  private copied = false;

  /** `template`: a file from ensureTemplate, copied for a new agent. */
  constructor(
    private readonly file: string,
    private readonly template?: string,
  ) {}

  /** Copy the template for a new agent on the thread pool (a file creation costs ~1 ms of disk here). */
  async prepare(): Promise<void> {
    if (this.handle || !this.template || existsSync(this.file)) return;
    try {
      await copyFile(this.template, this.file, constants.COPYFILE_EXCL);
      this.copied = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }

  get db(): Database.Database {
    return this.handle ?? this.open();
  }

  private ensureOpen(): void {
    if (!this.handle) this.open();
  }

  private open(): Database.Database {
    let fresh = this.copied;
    if (!fresh && !existsSync(this.file)) {
      fresh = true;
      if (this.template) {
        copyFileSync(this.template, this.file);
        this.copied = true;
      }
    }
    const db = new Database(this.file);
    // One process owns each file: exclusive locking lets WAL skip its shared-memory index,
    // and a small page cache keeps thousands of live agents cheap.
    db.pragma("locking_mode = EXCLUSIVE");
    // Setting up a new file (WAL switch, schema, the WAL's creation) would cost ~3 ms of fsyncs per agent; a
    // power cut during it can only lose an agent that has nothing in it yet. After it,
    // WAL with synchronous=NORMAL: commits survive a process crash without an fsync each.
    db.pragma(`synchronous = ${fresh ? "OFF" : "NORMAL"}`);
    db.pragma("journal_mode = WAL");
    db.pragma("cache_size = -256");
    if (this.copied) db.pragma("user_version = 0"); // a write: the WAL file is made here, unsynced
    else db.exec(SCHEMA);
    if (fresh) db.pragma("synchronous = NORMAL");
    this.copied = false;
    this.getKv = db.prepare("SELECT value FROM _burrow_kv WHERE key = ?");
    this.putKv = db.prepare("INSERT OR REPLACE INTO _burrow_kv (key, value) VALUES (?, ?)");
    this.handle = db;
    return db;
  }

  /** A tagged template: values become parameters, never SQL text. Synchronous. */
  sql<T = Record<string, unknown>>(strings: TemplateStringsArray, ...values: unknown[]): T[] {
    const stmt = this.db.prepare(strings.join("?"));
    const params = values.map((v) => (typeof v === "boolean" ? (v ? 1 : 0) : v === undefined ? null : v)) as SqlValue[];
    if (stmt.reader) return stmt.all(...params) as T[];
    stmt.run(...params);
    return [];
  }

  get(key: string): string | undefined {
    this.ensureOpen();
    return this.getKv.get(key)?.value;
  }

  put(key: string, value: string): void {
    this.ensureOpen();
    this.putKv.run(key, value);
  }

  /** Give back the page cache (~80 KiB a connection) while nothing uses it; it is refilled on the next read. */
  shrink(): void {
    if (this.handle?.open) this.handle.pragma("shrink_memory");
  }

  close(): void {
    if (this.handle?.open) this.handle.close();
  }
}
