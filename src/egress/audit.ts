import type Database from "better-sqlite3";
import { channels, publish } from "../observability/channels.js";
import { openDatabase } from "../lib/sqlite.js";
import type { EgressAuditEvent } from "../contract/index.js";

/** How many events are kept per sandbox; older ones are pruned as new ones arrive. */
const KEEP_PER_SANDBOX = 5000;

interface Row {
  at: string;
  host: string;
  port: number;
  method: string | null;
  path: string | null;
  decision: "allowed" | "denied";
  reason: string | null;
  handler: string | null;
  mode: EgressAuditEvent["mode"];
  bytes_out: number;
  bytes_in: number;
  duration_ms: number;
  status: number | null;
  upstream_proxy: string | null;
}

/**
 * The record of every outbound connection and intercepted request, per
 * sandbox. It holds what a reviewer needs (who, where, what, how much,
 * allowed or not, which handler) and never headers or bodies, so no
 * credential a handler adds can end up here.
 */
export class AuditLog {
  private readonly db: Database.Database;
  private readonly stmts;
  private inserts = 0;

  constructor(file: string) {
    this.db = openDatabase(file);
    this.db.exec(`CREATE TABLE IF NOT EXISTS egress_audit (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, sandbox_id TEXT NOT NULL, at TEXT NOT NULL,
      host TEXT NOT NULL, port INTEGER NOT NULL, method TEXT, path TEXT, decision TEXT NOT NULL,
      reason TEXT, handler TEXT, mode TEXT NOT NULL, bytes_out INTEGER NOT NULL, bytes_in INTEGER NOT NULL,
      duration_ms REAL NOT NULL, status INTEGER
    )`);
    this.db.exec("CREATE INDEX IF NOT EXISTS egress_audit_sandbox ON egress_audit (sandbox_id, seq)");
    // Added with --upstream-proxy: a log written before it gets the column (null: dialled directly).
    const columns = this.db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('egress_audit')").all().map((c) => c.name);
    if (!columns.includes("upstream_proxy")) this.db.exec("ALTER TABLE egress_audit ADD COLUMN upstream_proxy TEXT");
    this.stmts = {
      insert: this.db.prepare(`INSERT INTO egress_audit (sandbox_id, at, host, port, method, path, decision, reason, handler, mode, bytes_out, bytes_in, duration_ms, status, upstream_proxy)
        VALUES (@sandboxId, @at, @host, @port, @method, @path, @decision, @reason, @handler, @mode, @bytesOut, @bytesIn, @durationMs, @status, @upstreamProxy)`),
      recent: this.db.prepare<[string, number], Row>("SELECT * FROM (SELECT * FROM egress_audit WHERE sandbox_id = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq"),
      prune: this.db.prepare<[string, string, number]>(
        "DELETE FROM egress_audit WHERE sandbox_id = ? AND seq <= (SELECT seq FROM egress_audit WHERE sandbox_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
      ),
      forget: this.db.prepare<[string]>("DELETE FROM egress_audit WHERE sandbox_id = ?"),
    };
  }

  record(sandboxId: string, e: EgressAuditEvent): void {
    this.stmts.insert.run({ sandboxId, ...e });
    // Metering and metrics count every connection, not only the ones the audit keeps.
    publish(channels.egress, () => ({
      sandbox: sandboxId, host: e.host, port: e.port, decision: e.decision === "denied" ? "deny" : "allow",
      ...(e.reason ? { reason: e.reason } : e.handler ? { reason: `handler ${e.handler}` } : {}), bytesIn: e.bytesIn, bytesOut: e.bytesOut,
    }));
    if (++this.inserts % 500 === 0) this.stmts.prune.run(sandboxId, sandboxId, KEEP_PER_SANDBOX);
  }

  recent(sandboxId: string, limit = 200): EgressAuditEvent[] {
    return this.stmts.recent.all(sandboxId, Math.min(Math.max(limit, 1), KEEP_PER_SANDBOX)).map((r) => ({
      at: r.at,
      host: r.host,
      port: r.port,
      method: r.method,
      path: r.path,
      decision: r.decision,
      reason: r.reason,
      handler: r.handler,
      mode: r.mode,
      bytesOut: r.bytes_out,
      bytesIn: r.bytes_in,
      durationMs: r.duration_ms,
      status: r.status,
      upstreamProxy: r.upstream_proxy,
    }));
  }

  forget(sandboxId: string): void {
    this.stmts.forget.run(sandboxId);
  }

  close(): void {
    this.db.close();
  }
}
