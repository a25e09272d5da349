import type Database from "better-sqlite3";
import { openDatabase } from "../lib/sqlite.js";

/** What one sandbox used, as kept: totals since it was first seen, and hourly buckets for billing periods. */
export interface UsageDelta {
  cpuSeconds: number;
  runningSeconds: number;
  egressBytesIn: number;
  egressBytesOut: number;
  memoryPeakBytes: number;
}

export interface UsageTotals extends UsageDelta {
  since: string;
}

const ZERO: UsageDelta = { cpuSeconds: 0, runningSeconds: 0, egressBytesIn: 0, egressBytesOut: 0, memoryPeakBytes: 0 };
const KEEP_HOURS = 90 * 24;

/** Usage tables in the server's SQLite database. */
export class UsageStore {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(file: string) {
    this.db = openDatabase(file);
    this.db.exec(`CREATE TABLE IF NOT EXISTS usage_totals (
      sandbox TEXT PRIMARY KEY, since TEXT NOT NULL, cpu_s REAL NOT NULL, running_s REAL NOT NULL,
      egress_in INTEGER NOT NULL, egress_out INTEGER NOT NULL, memory_peak INTEGER NOT NULL)`);
    this.db.exec(`CREATE TABLE IF NOT EXISTS usage_hourly (
      sandbox TEXT NOT NULL, hour TEXT NOT NULL, cpu_s REAL NOT NULL, running_s REAL NOT NULL,
      egress_in INTEGER NOT NULL, egress_out INTEGER NOT NULL, memory_peak INTEGER NOT NULL, PRIMARY KEY (sandbox, hour))`);
    const add = `cpu_s = cpu_s + @cpu, running_s = running_s + @run, egress_in = egress_in + @ein, egress_out = egress_out + @eout,
      memory_peak = max(memory_peak, @peak)`;
    this.stmts = {
      total: this.db.prepare(`INSERT INTO usage_totals VALUES (@sandbox, @since, @cpu, @run, @ein, @eout, @peak)
        ON CONFLICT(sandbox) DO UPDATE SET ${add}`),
      hourly: this.db.prepare(`INSERT INTO usage_hourly VALUES (@sandbox, @hour, @cpu, @run, @ein, @eout, @peak)
        ON CONFLICT(sandbox, hour) DO UPDATE SET ${add}`),
      get: this.db.prepare<[string], Record<string, number | string>>("SELECT * FROM usage_totals WHERE sandbox = ?"),
      period: this.db.prepare<[string, string], Record<string, number | string>>(`SELECT sandbox, sum(cpu_s) cpu_s, sum(running_s) running_s,
        sum(egress_in) egress_in, sum(egress_out) egress_out, max(memory_peak) memory_peak FROM usage_hourly
        WHERE hour >= ? AND hour < ? GROUP BY sandbox ORDER BY sandbox`),
      prune: this.db.prepare<[string]>("DELETE FROM usage_hourly WHERE hour < ?"),
      forget: this.db.prepare<[string]>("DELETE FROM usage_totals WHERE sandbox = ?"),
    };
  }

  /** Add deltas (one transaction for all sandboxes), into the totals and the hour they happened in. */
  add(deltas: Map<string, UsageDelta>, at: Date): void {
    const hour = hourOf(at);
    const since = at.toISOString();
    this.db.transaction(() => {
      for (const [sandbox, d] of deltas) {
        const row = { sandbox, since, hour, cpu: d.cpuSeconds, run: d.runningSeconds, ein: d.egressBytesIn, eout: d.egressBytesOut, peak: d.memoryPeakBytes };
        this.stmts.total.run(row);
        this.stmts.hourly.run(row);
      }
    })();
  }

  totals(sandbox: string): UsageTotals | undefined {
    const r = this.stmts.get.get(sandbox);
    return r ? { since: String(r.since), ...fromRow(r) } : undefined;
  }

  /** Per sandbox, what it used in whole hours from `from` up to `to`. */
  period(from: Date, to: Date): ({ sandbox: string } & UsageDelta)[] {
    return this.stmts.period.all(hourOf(from), hourOf(new Date(to.getTime() + 3600_000 - 1))).map((r) => ({ sandbox: String(r.sandbox), ...fromRow(r) }));
  }

  prune(now: Date): void {
    this.stmts.prune.run(hourOf(new Date(now.getTime() - KEEP_HOURS * 3600_000)));
  }

  /** A destroyed sandbox's totals go; its hourly rows stay for billing until they age out. */
  forget(sandbox: string): void {
    this.stmts.forget.run(sandbox);
  }

  close(): void {
    this.db.close();
  }
}

export const emptyUsage = (): UsageDelta => ({ ...ZERO });

const hourOf = (d: Date) => d.toISOString().slice(0, 13) + ":00:00Z";

const fromRow = (r: Record<string, number | string>): UsageDelta => ({
  cpuSeconds: Number(r.cpu_s ?? 0),
  runningSeconds: Number(r.running_s ?? 0),
  egressBytesIn: Number(r.egress_in ?? 0),
  egressBytesOut: Number(r.egress_out ?? 0),
  memoryPeakBytes: Number(r.memory_peak ?? 0),
});
