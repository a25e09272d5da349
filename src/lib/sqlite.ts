import Database from "better-sqlite3";

/**
 * The server's SQLite settings in one place: WAL (readers never wait for the
 * writer), NORMAL sync (durable at checkpoints, fast per write) and a busy
 * timeout, since several tables share one file through separate connections.
 */
export function openDatabase(file: string): Database.Database {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  return db;
}
