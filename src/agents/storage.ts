import Database from "better-sqlite3";
import { existsSync } from "node:fs";

export type SqlValue = string | number | bigint | Buffer | null;

/** One agent's own SQLite file (WAL): its state, its schedules, and whatever its code stores with `sql`. */
export class AgentStorage {
  readonly db: Database.Database;
  private readonly getKv: Database.Statement<[string], { value: string }>;
  private readonly putKv: Database.Statement<[string, string]>;

  constructor(file: string) {
    const fresh = !existsSync(file);
    this.db = new Database(file);
    // One process owns each file: exclusive locking lets WAL skip its shared-memory index,
    // and a small page cache keeps thousands of live agents cheap.
    this.db.pragma("locking_mode = EXCLUSIVE");
    // Setting up a new file (WAL switch, schema) would cost ~3 ms of fsyncs per agent; a
    // power cut during it can only lose an agent that has nothing in it yet. After it,
    // WAL with synchronous=NORMAL: commits survive a process crash without an fsync each.
    this.db.pragma(`synchronous = ${fresh ? "OFF" : "NORMAL"}`);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("cache_size = -256");
    this.db.exec(`
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
      );`);
    if (fresh) this.db.pragma("synchronous = NORMAL");
    this.getKv = this.db.prepare("SELECT value FROM _burrow_kv WHERE key = ?");
    this.putKv = this.db.prepare("INSERT OR REPLACE INTO _burrow_kv (key, value) VALUES (?, ?)");
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
    return this.getKv.get(key)?.value;
  }

  put(key: string, value: string): void {
    this.putKv.run(key, value);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
