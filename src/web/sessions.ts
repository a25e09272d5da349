import { createHash, randomBytes } from "node:crypto";
import type Database from "better-sqlite3";
import { openDatabase } from "../lib/sqlite.js";

/** How long a browser session lasts from sign-in; signing in again starts a new one. */
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;

export interface WebSession {
  /** Sent back in `x-burrow-csrf` on every state-changing request the page makes. */
  csrf: string;
  expiresAt: number;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/**
 * Browser sessions, kept server-side in SQLite: the cookie holds only a random
 * id, the table holds its hash (a leaked database signs nobody in), its CSRF
 * token, its expiry and a fingerprint of the admin token it was opened with,
 * so changing the token ends every session opened with the old one.
 */
export class SessionStore {
  private readonly db: Database.Database;
  private readonly tokenPrint: string;

  constructor(file: string, adminToken: string, private readonly now: () => number = Date.now) {
    this.db = openDatabase(file);
    this.db.exec(`CREATE TABLE IF NOT EXISTS web_sessions (
      id_hash TEXT PRIMARY KEY, csrf TEXT NOT NULL, token_print TEXT NOT NULL,
      created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL)`);
    this.tokenPrint = sha256(`burrow-web-token:${adminToken}`);
    // Sessions of another token or past their time are dead: drop them at start.
    this.db.prepare("DELETE FROM web_sessions WHERE token_print != ? OR expires_at <= ?").run(this.tokenPrint, this.now());
  }

  /** A new session; returns the id for the cookie (never stored as is). */
  open(): { id: string; session: WebSession } {
    const id = randomBytes(32).toString("base64url");
    const session = { csrf: randomBytes(24).toString("base64url"), expiresAt: this.now() + SESSION_TTL_MS };
    this.db
      .prepare("INSERT INTO web_sessions (id_hash, csrf, token_print, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")
      .run(sha256(id), session.csrf, this.tokenPrint, this.now(), session.expiresAt);
    return { id, session };
  }

  /** The live session a cookie names, or undefined (unknown, expired, or opened with another token). */
  find(id: string | undefined): WebSession | undefined {
    if (!id || id.length > 128) return undefined;
    const row = this.db.prepare("SELECT csrf, token_print, expires_at FROM web_sessions WHERE id_hash = ?").get(sha256(id)) as
      | { csrf: string; token_print: string; expires_at: number }
      | undefined;
    if (!row) return undefined;
    if (row.token_print !== this.tokenPrint || row.expires_at <= this.now()) {
      this.close(id);
      return undefined;
    }
    return { csrf: row.csrf, expiresAt: row.expires_at };
  }

  /** Sign-out: the id stops working at once. */
  close(id: string): void {
    this.db.prepare("DELETE FROM web_sessions WHERE id_hash = ?").run(sha256(id));
  }

  shutdown(): void {
    this.db.close();
  }
}
