import type Database from "better-sqlite3";
import type { UIMessage } from "ai";

export interface StreamRow {
  request_id: string;
  message_id: string;
  continuation: number;
}

/**
 * A chat agent's conversation in its own SQLite file: one row per message,
 * and, while an answer streams, one row per chunk, so a client that
 * reconnects mid-answer can be sent everything it missed. The chunks go when
 * the answer is stored as its message.
 */
export class ChatStore {
  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS _burrow_chat_messages (id TEXT PRIMARY KEY, position INTEGER NOT NULL, body TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS _burrow_chat_streams (request_id TEXT PRIMARY KEY, message_id TEXT NOT NULL, continuation INTEGER NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS _burrow_chat_chunks (request_id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (request_id, seq)) WITHOUT ROWID;`);
  }

  private get insertChunk() {
    return (this._insertChunk ??= this.db.prepare("INSERT INTO _burrow_chat_chunks (request_id, seq, body) VALUES (?, ?, ?)"));
  }
  private _insertChunk: Database.Statement | undefined;

  messages(): UIMessage[] {
    const rows = this.db.prepare("SELECT body FROM _burrow_chat_messages ORDER BY position").all() as { body: string }[];
    const out: UIMessage[] = [];
    for (const r of rows) {
      try {
        out.push(JSON.parse(r.body) as UIMessage);
      } catch {
        // A row that does not parse is skipped rather than wedging the whole conversation.
      }
    }
    return out;
  }

  /** Make the stored transcript exactly `messages` (in order): changed rows rewritten, missing ones deleted. */
  replace(messages: UIMessage[]): void {
    const existing = new Map((this.db.prepare("SELECT id, position, body FROM _burrow_chat_messages").all() as { id: string; position: number; body: string }[]).map((r) => [r.id, r]));
    const upsert = this.db.prepare("INSERT OR REPLACE INTO _burrow_chat_messages (id, position, body) VALUES (?, ?, ?)");
    const del = this.db.prepare("DELETE FROM _burrow_chat_messages WHERE id = ?");
    this.db.transaction(() => {
      const keep = new Set<string>();
      messages.forEach((m, i) => {
        keep.add(m.id);
        const body = JSON.stringify(m);
        const prior = existing.get(m.id);
        if (!prior || prior.position !== i || prior.body !== body) upsert.run(m.id, i, body);
      });
      for (const id of existing.keys()) if (!keep.has(id)) del.run(id);
    })();
  }

  clear(): void {
    this.flush();
    this.db.exec("DELETE FROM _burrow_chat_messages; DELETE FROM _burrow_chat_streams; DELETE FROM _burrow_chat_chunks;");
  }

  startStream(requestId: string, messageId: string, continuation: boolean): void {
    this.db.prepare("INSERT OR REPLACE INTO _burrow_chat_streams (request_id, message_id, continuation, created_at) VALUES (?, ?, ?, ?)").run(requestId, messageId, continuation ? 1 : 0, Date.now());
    this.db.prepare("DELETE FROM _burrow_chat_chunks WHERE request_id = ?").run(requestId);
  }

  /**
   * Chunks are written in one transaction per turn of the event loop: a
   * commit per chunk made a fast model wait on SQLite. Reads flush first, so
   * a replay always sees every chunk already sent.
   */
  addChunk(requestId: string, seq: number, body: string): void {
    this.pending.push([requestId, seq, body]);
    if (this.pending.length === 1) setImmediate(() => this.flush());
  }
  private pending: [string, number, string][] = [];

  flush(): void {
    if (!this.pending.length || !this.db.open) return;
    const rows = this.pending;
    this.pending = [];
    this.db.transaction(() => {
      for (const r of rows) this.insertChunk.run(...r);
    })();
  }

  chunks(requestId: string): string[] {
    this.flush();
    return (this.db.prepare("SELECT body FROM _burrow_chat_chunks WHERE request_id = ? ORDER BY seq").all(requestId) as { body: string }[]).map((r) => r.body);
  }

  /** Streams that were in progress when the process stopped: their answers were never stored. */
  openStreams(): StreamRow[] {
    return this.db.prepare("SELECT request_id, message_id, continuation FROM _burrow_chat_streams ORDER BY created_at").all() as StreamRow[];
  }

  /** The answer is stored as a message (or dropped): its chunks are no longer needed. */
  endStream(requestId: string, finalMessages?: UIMessage[]): void {
    this.flush();
    this.db.transaction(() => {
      if (finalMessages) this.replace(finalMessages);
      this.db.prepare("DELETE FROM _burrow_chat_chunks WHERE request_id = ?").run(requestId);
      this.db.prepare("DELETE FROM _burrow_chat_streams WHERE request_id = ?").run(requestId);
    })();
  }
}
