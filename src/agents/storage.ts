import Database from "better-sqlite3";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";

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
 * Returns its bytes (a few pages), which a new agent's file is written from.
 */
export function ensureTemplate(path: string): Buffer {
  if (existsSync(path)) return readFileSync(path);
  const tmp = `${path}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  const db = new Database(tmp);
  db.pragma("journal_mode = WAL");
  db.exec(SCHEMA);
  db.close(); // checkpoints: everything is in the main file, which stays in WAL mode
  renameSync(tmp, path); // whole or not at all
  return readFileSync(path);
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

  /** `template`: the bytes from ensureTemplate, a new agent's file. */
  constructor(
    private readonly file: string,
    private readonly template?: Buffer,
  ) {}

  /**
   * Make a new agent's files on the thread pool: the template's bytes and an
   * empty WAL beside them, which SQLite would otherwise create on the event loop
   * at the first read. Each is one file creation (~0.3-1 ms of disk here, and the
   * directory is locked meanwhile), so neither is a copy, which opens its source
   * too. An empty WAL is what SQLite itself leaves when it has nothing to replay.
   * The WAL is written only once this call has made the file, and empties
   * whatever WAL a destroyed agent of the same name may have left, which must
   * not be replayed.
   */
  async prepare(): Promise<void> {
    if (this.handle || !this.template) return;
    try {
      await writeFile(this.file, this.template, { flag: "wx" }); // EEXIST: an agent that has a file already
      await writeFile(`${this.file}-wal`, "");
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
        writeFileSync(this.file, this.template, { flag: "wx" });
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
    // A copy of the template is in WAL mode already (its header says so), and asking again costs ~0.3 ms.
    if (!this.copied) db.pragma("journal_mode = WAL");
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
